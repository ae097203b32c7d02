"""Do the dashboard and the alert rules name only series that exist? The checks the tests run.

`named_series` collects every metric name a rule or a panel reads (parsed with the PromQL parser, never
by regex). `problems` says, for each name, why it is not fine: no code defines it (and it is not one of the
operations metrics being added), or it is defined but no component exports it, or it is an operations
metric its component does not export. Recorded series (`memlane:...`) and Prometheus' own (`up`) are fine.
`missing_on_wire` compares the names with a real scrape: `wire_names` of the exposition text.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from prometheus_client.parser import text_string_to_metric_families

from streams.deploy.dashboard import expressions
from streams.deploy.metric_catalogue import OPS_METRICS, PROMETHEUS_OWN, MetricCatalogue, series
from streams.deploy.promql import metric_names
from streams.deploy.rulefmt import RuleFile


def recorded(rules: RuleFile) -> set[str]:
    return {rule.record for rule in rules.rules() if rule.record}


def named_series(rules: RuleFile, dashboard: dict[str, Any]) -> dict[str, set[str]]:
    """Metric name -> where it is read (`alert X`, `record Y`, `panel Z`)."""
    found: dict[str, set[str]] = defaultdict(set)
    for rule in rules.rules():
        kind = "alert" if rule.alert else "record"
        for name in metric_names(rule.expr):
            found[name].add(f"{kind} {rule.name}")
    for title, expr in expressions(dashboard):
        for name in metric_names(expr):
            found[name].add(f"panel {title!r}")
    return dict(found)


def _ops_family(name: str) -> str | None:
    return next((family for family in OPS_METRICS if name in {family, *series(family, "histogram")}), None)


def problems(catalogue: MetricCatalogue, named: dict[str, set[str]], derived: set[str]) -> list[str]:
    """Why each name that is not fine is not; empty when every series read is exported by some component."""
    found = []
    for name, where in sorted(named.items()):
        if name in derived or name in PROMETHEUS_OWN:
            continue
        ops = _ops_family(name)
        definition = catalogue.definition(name)
        exporters = catalogue.exporters(name)
        if definition is None:
            if ops is None:
                found.append(f"{name} ({', '.join(sorted(where))}): no memlane code defines this metric")
        elif not exporters:
            found.append(f"{name} ({', '.join(sorted(where))}): defined in {definition.module}, exported by nothing")
        elif ops is not None and OPS_METRICS[ops] not in exporters:
            found.append(f"{name}: expected from {OPS_METRICS[ops]}, exported by {sorted(exporters)}")
    return found


def awaited(catalogue: MetricCatalogue, named: dict[str, set[str]]) -> list[str]:
    """The operations metrics read that this checkout does not define yet."""
    return sorted(n for n in named if _ops_family(n) is not None and catalogue.definition(n) is None)


def wire_names(exposition: str) -> set[str]:
    """Every sample name a `/metrics` text can carry, labelled families without samples included."""
    names: set[str] = set()
    for family in text_string_to_metric_families(exposition):
        kind = family.type if family.type in ("counter", "gauge", "histogram", "summary") else "gauge"
        names |= series(family.name, kind) | {sample.name for sample in family.samples}
    return names


def missing_on_wire(named: dict[str, set[str]], wire: set[str], skip: set[str]) -> list[str]:
    """Names read by rules or panels that a live scrape does not carry (those in `skip` aside)."""
    return sorted(n for n in named if n not in wire and n not in skip and n not in PROMETHEUS_OWN)


__all__ = ["awaited", "missing_on_wire", "named_series", "problems", "recorded", "wire_names"]
