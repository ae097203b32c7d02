"""Prometheus' rule-file format, restated as a strict model: what `promtool check rules` refuses, this refuses.

Prometheus reads rule files with its `rulefmt` package: `groups:` of `{name, interval, query_offset, limit,
labels, rules}`, each rule either `record:` or `alert:` with `expr:`, and for alerts `for:`,
`keep_firing_for:`, `labels:` and `annotations:`. Unknown keys are errors (rulefmt decodes strictly);
group names are unique; a record name is a metric name, label names are label names (not `__`-prefixed);
durations are Prometheus durations (`1d2h30m`); every `expr` must parse (`streams.deploy.promql`).
Annotation templates (Go text/template) are checked only for balanced `{{ }}`: promtool also executes them.
No Python package ships promtool, so this model is the check CI runs (see docs/operations.md).
"""

from __future__ import annotations

import re
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from schemas.errors import ConfigError
from streams.deploy.promql import PromQLError, parse

DURATION = re.compile(r"^(\d+y)?(\d+w)?(\d+d)?(\d+h)?(\d+m)?(\d+s)?(\d+ms)?$")
METRIC_NAME = re.compile(r"^[a-zA-Z_:][a-zA-Z0-9_:]*$")
LABEL_NAME = re.compile(r"^[a-zA-Z_][a-zA-Z0-9_]*$")


def _duration(value: str | None) -> str | None:
    if value is not None and (not value or not DURATION.match(value)):
        raise ValueError(f"not a Prometheus duration: {value!r}")
    return value


def _labels(value: dict[str, str]) -> dict[str, str]:
    for name in value:
        if not LABEL_NAME.match(name) or name.startswith("__"):
            raise ValueError(f"invalid label name {name!r}")
    return value


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, populate_by_name=True)


class Rule(_Strict):
    record: str | None = None
    alert: str | None = None
    expr: str
    for_: str | None = Field(default=None, alias="for")
    keep_firing_for: str | None = None
    labels: dict[str, str] = Field(default_factory=dict)
    annotations: dict[str, str] = Field(default_factory=dict)

    _check_for = field_validator("for_", "keep_firing_for")(_duration)
    _check_labels = field_validator("labels")(_labels)

    @field_validator("expr")
    @classmethod
    def _parses(cls, value: str) -> str:
        try:
            parse(value)
        except PromQLError as exc:
            raise ValueError(str(exc)) from exc
        return value

    @field_validator("annotations")
    @classmethod
    def _templates(cls, value: dict[str, str]) -> dict[str, str]:
        for key, text in value.items():
            if text.count("{{") != text.count("}}"):
                raise ValueError(f"annotation {key}: unbalanced template braces")
        return value

    @model_validator(mode="after")
    def _one_kind(self) -> Rule:
        if (self.record is None) == (self.alert is None):
            raise ValueError("a rule has exactly one of `record` and `alert`")
        if self.record is not None:
            if not METRIC_NAME.match(self.record):
                raise ValueError(f"invalid recording rule name {self.record!r}")
            if self.for_ or self.keep_firing_for or self.annotations:
                raise ValueError(f"{self.record}: `for`, `keep_firing_for` and `annotations` belong to alerts")
        elif not self.alert:
            raise ValueError("an alert needs a name")
        return self

    @property
    def name(self) -> str:
        return self.record or self.alert or ""


class RuleGroup(_Strict):
    name: str = Field(min_length=1)
    interval: str | None = None
    query_offset: str | None = None
    limit: int | None = Field(default=None, ge=0)
    labels: dict[str, str] = Field(default_factory=dict)
    rules: list[Rule]

    _check_interval = field_validator("interval", "query_offset")(_duration)
    _check_labels = field_validator("labels")(_labels)


class RuleFile(_Strict):
    groups: list[RuleGroup]

    @model_validator(mode="after")
    def _unique_groups(self) -> RuleFile:
        names = [g.name for g in self.groups]
        duplicated = sorted({n for n in names if names.count(n) > 1})
        if duplicated:
            raise ValueError(f"groups defined more than once: {duplicated}")
        return self

    def rules(self) -> list[Rule]:
        return [rule for group in self.groups for rule in group.rules]


def load_rule_file(text: str) -> RuleFile:
    """Parse and check a rule file's YAML; `ConfigError` naming the problem when Prometheus would refuse it."""
    try:
        data: Any = yaml.safe_load(text)
        return RuleFile.model_validate(data)
    except (yaml.YAMLError, ValueError) as exc:
        raise ConfigError(f"invalid Prometheus rule file: {exc}") from exc


__all__ = ["Rule", "RuleFile", "RuleGroup", "load_rule_file"]
