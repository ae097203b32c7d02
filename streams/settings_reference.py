"""The settings reference: every field of `Settings` as its environment variable, type, default and
description, read from the model (pydantic's attribute docstrings), never written by hand.

`memlane settings` prints it; `memlane settings --markdown docs/settings.md` writes the committed reference,
which a test keeps in step with the model (and which fails for a setting without a description).
"""

from __future__ import annotations

import json
import typing
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, SecretStr
from pydantic.fields import FieldInfo
from pydantic_core import PydanticUndefined

from streams.settings import Settings

PREFIX = "MEMLANE_"
DELIMITER = "__"


@dataclass(frozen=True)
class SettingDoc:
    section: str
    """`general`, or the name of the nested section (`extraction`, `sinks`, ...)."""
    variable: str
    type: str
    default: str
    description: str


def _section_model(info: FieldInfo) -> type[BaseModel] | None:
    for candidate in (info.annotation, *typing.get_args(info.annotation)):
        if isinstance(candidate, type) and issubclass(candidate, BaseModel):
            return candidate
    return None


def _type_name(info: FieldInfo) -> str:
    annotation = info.annotation
    text = annotation.__name__ if isinstance(annotation, type) else str(annotation)
    for module in ("typing.", "pydantic.types.", "pathlib.", "processors.", "sinks.", "streams."):
        text = text.replace(module, "")
    if text.startswith("Optional[") and text.endswith("]"):
        text = text[len("Optional[") : -1] + " | None"
    return text


def _default(info: FieldInfo) -> str:
    if info.default_factory is not None:
        value: Any = info.default_factory()  # type: ignore[call-arg]
    elif info.default is PydanticUndefined:
        return "(required)"
    else:
        value = info.default
    if isinstance(value, SecretStr):
        return "(secret)"
    if value is None:
        return "unset"
    if isinstance(value, BaseModel):
        value = value.model_dump(mode="json")
    if isinstance(value, dict | list | tuple):
        return json.dumps(value, default=str)
    return str(value)


def _walk(model: type[BaseModel], prefix: str, section: str) -> Iterator[SettingDoc]:
    for name, info in model.model_fields.items():
        nested = _section_model(info)
        variable = f"{prefix}{name.upper()}"
        if nested is not None and nested is not model:
            yield from _walk(nested, variable + DELIMITER, section if section != "general" else name)
            continue
        description = " ".join((info.description or "").split())
        yield SettingDoc(section, variable, _type_name(info), _default(info), description)


def setting_docs() -> list[SettingDoc]:
    """Every leaf setting, in the order the model declares them."""
    return list(_walk(Settings, PREFIX, "general"))


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def markdown() -> str:
    """The reference as Markdown: one table per section."""
    out = [
        "# Settings reference",
        "",
        "Generated from `streams/settings.py` by `memlane settings --markdown docs/settings.md`; do not edit by",
        "hand. Nested sections use `__` (`MEMLANE_EXTRACTION__FAST_MODEL`). Secrets are `SecretStr`: never",
        "logged, shown here as `(secret)`.",
    ]
    section = None
    for doc in setting_docs():
        if doc.section != section:
            section = doc.section
            out += ["", f"## {section}", "", "| variable | type | default | description |", "|---|---|---|---|"]
        default = doc.default if len(doc.default) <= 60 else doc.default[:57] + "..."
        out.append(f"| `{doc.variable}` | {_cell(doc.type)} | `{_cell(default)}` | {_cell(doc.description)} |")
    return "\n".join(out) + "\n"


__all__ = ["SettingDoc", "markdown", "setting_docs"]
