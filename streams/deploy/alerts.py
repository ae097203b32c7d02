"""memlane's Prometheus alert and recording rules (`infra/prometheus/alerts.yml`), thresholds in one place.

Topic and group names come from the settings (the topic catalogue's names, the consumer groups of
`streams.deploy.components`), so the rules follow a renamed topic. What each alert means and what to do is
in docs/operations.md; the `runbook` annotation points there.

    alert                          fires when                                                for
    MemlanePartitionStalled        a group has lag on a partition and its offset is stuck     5m
    MemlaneConsumerLagHigh         the oldest unconsumed message is older than LAG_SECONDS    10m
    MemlaneDLQGrowing              the DLQ backlog (fallback group's lag) grew over 30 min     15m
    MemlaneBreakerOpen             requests are parked because the breaker is open             2m
    MemlaneFallbackRateHigh        more than FALLBACK_RATIO of requests go to the DLQ         30m
    MemlaneClaudeBudgetNearlySpent less than BUDGET_LEFT of the daily Claude budget is left    5m
    MemlaneQuarantineGrowing       messages are being quarantined                            15m
    MemlaneComponentDown           a scrape target does not answer                             5m
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import yaml

from streams.deploy.components import consumer_groups
from streams.settings import Settings

RUNBOOK = "docs/operations.md"
FALLBACK_RATIO_RULE = "memlane:fallback_ratio:rate30m"
FORWARDED_RATIO_RULE = "memlane:tokens_forwarded_ratio:rate1h"
PAID_COST_RULE = "memlane:paid_cost_usd:rate1h"


@dataclass(frozen=True)
class Thresholds:
    """When the alerts fire."""

    lag_seconds: float = 600.0
    """Freshness: a turn should be searchable within minutes; 10 minutes behind is an incident."""
    fallback_ratio: float = 0.05
    """More than 5% of requests dead-lettered means the local model is failing (and Claude is paying)."""
    budget_left: float = 0.10
    """Less than 10% of the Claude day budget left: parked requests will wait for tomorrow."""


@dataclass(frozen=True)
class _Alert:
    name: str
    expr: str
    for_: str
    severity: str
    summary: str
    description: str

    def rule(self) -> dict[str, Any]:
        return {
            "alert": self.name,
            "expr": self.expr,
            "for": self.for_,
            "labels": {"severity": self.severity},
            "annotations": {
                "summary": self.summary,
                "description": self.description,
                "runbook": f"{RUNBOOK}#{self.name.lower()}",
            },
        }


def recording_rules(settings: Settings) -> list[dict[str, Any]]:
    """Ratios the alerts and the dashboard share."""
    return [
        {
            "record": FALLBACK_RATIO_RULE,
            "expr": 'sum(rate(memlane_extractions_total{outcome="dead_lettered"}[30m]))'
            ' / sum(rate(memlane_extractions_total{extractor!="claude"}[30m]))',
        },
        {
            "record": FORWARDED_RATIO_RULE,
            "expr": "sum(rate(memlane_tokens_forwarded_total[1h])) / sum(rate(memlane_tokens_seen_total[1h]))",
        },
        {
            "record": PAID_COST_RULE,
            "expr": 'sum(rate(memlane_llm_cost_usd_total{provider="anthropic"}[1h])) * 3600',
        },
    ]


def alert_rules(settings: Settings, thresholds: Thresholds) -> list[dict[str, Any]]:
    groups = consumer_groups(settings)
    dlq = f'memlane_consumergroup_lag{{group="{groups["fallback"]}", topic="{settings.topics.dlq}"}}'
    alerts = [
        _Alert(
            "MemlanePartitionStalled",
            "max by (group, topic, partition) (memlane_partition_stalled) == 1",
            "5m",
            "page",
            "{{ $labels.group }} is stuck on {{ $labels.topic }}[{{ $labels.partition }}]",
            "The group has lag on this partition and its committed offset has not moved for the stall time:"
            " its consumer is hung, crash-looping on a message, or the partition has no consumer.",
        ),
        _Alert(
            "MemlaneConsumerLagHigh",
            f'max by (group) (memlane_consumergroup_lag_seconds{{group!="{groups["fallback"]}"}})'
            f" > {thresholds.lag_seconds:g}",
            "10m",
            "warning",
            "{{ $labels.group }} is {{ $value | humanizeDuration }} behind",
            f"The oldest message the group has not consumed is older than {thresholds.lag_seconds:g} s:"
            " turns are not becoming searchable in time. Scale the group's workers (up to the partitions).",
        ),
        _Alert(
            "MemlaneDLQGrowing",
            f"sum({dlq}) > 0 and delta(sum({dlq})[30m:1m]) > 0",
            "15m",
            "warning",
            "The dead-letter backlog grew to {{ $value }} requests in 30 minutes",
            "Requests are parked faster than the Claude fallback drains them (breaker open, budget spent, or"
            " Claude failing). See `memlane dlq status` and `memlane dlq report`.",
        ),
        _Alert(
            "MemlaneBreakerOpen",
            'sum by (model) (rate(memlane_dlq_parked_total{error_class="circuit_open"}[5m])) > 0',
            "2m",
            "page",
            "The extraction circuit breaker around {{ $labels.model }} is open",
            "The model server failed repeatedly; extraction requests are parked in the DLQ without a call"
            " until the cooldown ends. Check the Ollama pods and GPU nodes.",
        ),
        _Alert(
            "MemlaneFallbackRateHigh",
            f"{FALLBACK_RATIO_RULE} > {thresholds.fallback_ratio:g}",
            "30m",
            "warning",
            "{{ $value | humanizePercentage }} of extraction requests go to the fallback",
            f"More than {thresholds.fallback_ratio:.0%} of requests were dead-lettered over 30 minutes: the local"
            " model is failing (timeouts, invalid JSON) and the paid fallback is taking over.",
        ),
        _Alert(
            "MemlaneClaudeBudgetNearlySpent",
            "min(memlane_claude_budget_remaining_tokens)"
            f" < {thresholds.budget_left:g} * max(memlane_claude_budget_limit_tokens)",
            "5m",
            "warning",
            "The Claude fallback has {{ $value }} tokens of its daily budget left",
            f"Less than {thresholds.budget_left:.0%} of MEMLANE_EXTRACTION__DAILY_TOKEN_BUDGET is left today;"
            " once spent, dead-lettered requests stay parked until the UTC day turns.",
        ),
        _Alert(
            "MemlaneQuarantineGrowing",
            "sum by (stage, error_class) (increase(memlane_quarantined_total[15m])) > 0",
            "15m",
            "info",
            "{{ $labels.stage }} quarantined messages ({{ $labels.error_class }})",
            "Undecodable or invalid input is being parked in the quarantine topic; nothing is lost, but a"
            " producer is sending what memlane cannot read.",
        ),
        _Alert(
            "MemlaneComponentDown",
            'up{job=~"memlane-.*"} == 0',
            "5m",
            "page",
            "{{ $labels.job }} at {{ $labels.instance }} does not answer",
            "Prometheus cannot scrape this component: the process is down or its metrics port is closed.",
        ),
    ]
    return [alert.rule() for alert in alerts]


def rule_file(settings: Settings, thresholds: Thresholds | None = None) -> dict[str, Any]:
    """The rule file, as Prometheus reads it."""
    return {
        "groups": [
            {"name": "memlane-recording", "interval": "1m", "rules": recording_rules(settings)},
            {"name": "memlane-alerts", "rules": alert_rules(settings, thresholds or Thresholds())},
        ]
    }


def render(settings: Settings, thresholds: Thresholds | None = None) -> str:
    header = "# Generated by `make infra` (streams/deploy/alerts.py); runbooks in docs/operations.md.\n"
    return header + str(yaml.safe_dump(rule_file(settings, thresholds), sort_keys=False, width=120, allow_unicode=True))


__all__ = ["FALLBACK_RATIO_RULE", "FORWARDED_RATIO_RULE", "PAID_COST_RULE", "Thresholds", "render", "rule_file"]
