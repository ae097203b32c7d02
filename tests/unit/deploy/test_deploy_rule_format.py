"""The alert rules parse with Prometheus' rule-file format, every expression with the PromQL parser."""

from __future__ import annotations

from pathlib import Path

import pytest

from schemas.errors import ConfigError
from streams.deploy.promql import PromQLError, metric_names, parse
from streams.deploy.rulefmt import load_rule_file

RULES = Path(__file__).resolve().parents[3] / "infra/prometheus/alerts.yml"
REQUIRED_ALERTS = {
    "MemlanePartitionStalled",
    "MemlaneConsumerLagHigh",
    "MemlaneDLQGrowing",
    "MemlaneBreakerOpen",
    "MemlaneFallbackRateHigh",
    "MemlaneClaudeBudgetNearlySpent",
}


def test_the_committed_rule_file_is_valid_and_has_every_alert_the_issue_asks_for() -> None:
    rules = load_rule_file(RULES.read_text())
    alerts = {rule.alert for rule in rules.rules() if rule.alert}
    assert alerts >= REQUIRED_ALERTS
    for rule in rules.rules():
        if rule.alert:
            assert rule.labels["severity"] in {"page", "warning", "info"}
            assert {"summary", "description", "runbook"} <= set(rule.annotations)


def test_recording_rules_are_defined_before_the_alerts_read_them() -> None:
    rules = load_rule_file(RULES.read_text())
    recorded = {rule.record for rule in rules.rules() if rule.record}
    read = set().union(*(metric_names(rule.expr) for rule in rules.rules() if rule.alert))
    assert {name for name in read if ":" in name} <= recorded


GOOD = "groups:\n- name: g\n  rules:\n  - alert: A\n    expr: up == 0\n    for: 5m\n"


@pytest.mark.parametrize(
    ("text", "complaint"),
    [
        (GOOD.replace("for: 5m", "for: 5 minutes"), "duration"),
        (GOOD.replace("expr: up == 0", "expr: sum(rate(up[5m])"), "parenthesis"),
        (GOOD + "    severity: page\n", "Extra inputs"),
        (GOOD.replace("- alert: A", "- alert: A\n    record: a:b"), "exactly one"),
        ("groups:\n- name: g\n  rules:\n  - record: bad-name\n    expr: up\n", "recording rule name"),
        ("groups:\n- name: g\n  rules:\n  - record: a:b\n    expr: up\n    for: 1m\n", "belong to alerts"),
        (GOOD + "- name: g\n  rules: []\n", "more than once"),
        (GOOD + "    labels:\n      __bad: x\n", "label name"),
        (GOOD + "    annotations:\n      summary: '{{ $labels.x }'\n", "braces"),
        (GOOD.replace("    for: 5m\n", "    for: 5m\n    labels:\n      severity: 3\n"), "string"),
    ],
)
def test_what_promtool_would_refuse_is_refused(text: str, complaint: str) -> None:
    load_rule_file(GOOD)
    with pytest.raises(ConfigError, match=complaint):
        load_rule_file(text)


def test_promql_names_the_series_it_reads_and_refuses_what_does_not_parse() -> None:
    expr = 'sum(rate(a_total{x="1"}[$__rate_interval])) / on() group_left max({__name__="b"}) > c'
    assert metric_names(expr) == {"a_total", "b", "c"}
    assert metric_names("histogram_quantile(0.9, sum by (le) (rate(h_bucket[5m])))") == {"h_bucket"}
    with pytest.raises(PromQLError):
        parse("rate(a_total[$unknown])")


def test_every_alert_has_its_runbook_section_in_the_operations_doc() -> None:
    doc = (RULES.parents[2] / "docs/operations.md").read_text()
    anchors = {line.lstrip("#").strip().lower() for line in doc.splitlines() if line.startswith("#")}
    for rule in load_rule_file(RULES.read_text()).rules():
        if rule.alert:
            path, anchor = rule.annotations["runbook"].split("#")
            assert path == "docs/operations.md" and anchor in anchors, rule.alert
