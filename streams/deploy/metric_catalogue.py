"""Which Prometheus metrics memlane defines, and which component exports each, read from the source.

A metric is defined where a module assigns `NAME = Counter("memlane_...", ...)` (or Gauge, Histogram,
Summary). A module *references* it when it imports the name from the defining module, or uses it in the
defining module itself. A component exports a metric when one of its modules, or any module they import
(the import graph, built by grimp as import-linter does), references it; see `streams.deploy.components`.
A metric that is defined but referenced by no component's code is exported by nothing: dashboards and
alert rules must not name it.

`series(name, kind)` spells the names a metric takes on the wire (a counter `x` is scraped as `x_total`
and `x_created`, a histogram as `x_bucket`, `x_sum`, `x_count`, `x_created`), which is what PromQL names.
"""

from __future__ import annotations

import ast
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

import grimp

from streams.deploy.components import COMPONENTS, SHARED_WORKER_MODULES, Component

PACKAGES = ("schemas", "processors", "sinks", "streams")
METRIC_TYPES = {"Counter": "counter", "Gauge": "gauge", "Histogram": "histogram", "Summary": "summary"}
SUFFIXES = {
    "counter": ("_total", "_created"),
    "gauge": ("",),
    "histogram": ("_bucket", "_sum", "_count", "_created"),
    "summary": ("", "_sum", "_count", "_created"),
}
OPS_METRICS: dict[str, str] = {
    "memlane_consumergroup_lag": "serve",
    "memlane_consumergroup_lag_seconds": "serve",
    "memlane_partition_stalled": "serve",
    "memlane_turn_to_searchable_seconds": "sink-qdrant",
    "memlane_claude_budget_remaining_tokens": "fallback",
    "memlane_claude_budget_limit_tokens": "fallback",
}
"""The operations metrics the dashboard and alerts rely on, and the component that must export each: the lag
exporter of `memlane serve`, the memory sink, the fallback worker. A checkout that does not define one yet
(it is being added beside this module) gets a dashboard panel without data, nothing worse; once defined, the
named component must export it."""
PROMETHEUS_OWN = frozenset({"up", "scrape_duration_seconds", "scrape_samples_scraped", "ALERTS", "ALERTS_FOR_STATE"})
"""Series Prometheus itself writes for every scrape target or alert: exported by no component, always there."""


@dataclass(frozen=True)
class MetricDef:
    """One metric as declared in code."""

    name: str
    kind: str
    variable: str
    module: str
    labels: tuple[str, ...]

    @property
    def family(self) -> str:
        """The name without the `_total` a counter's samples carry (prometheus_client's family name)."""
        return self.name.removesuffix("_total") if self.kind == "counter" else self.name


def series(family: str, kind: str) -> set[str]:
    """The sample names a metric family of `kind` is scraped as."""
    return {family + suffix for suffix in SUFFIXES[kind]}


def _modules(root: Path) -> Iterator[tuple[str, Path]]:
    for package in PACKAGES:
        for path in sorted((root / package).rglob("*.py")):
            parts = path.relative_to(root).with_suffix("").parts
            yield ".".join(parts[:-1] if parts[-1] == "__init__" else parts), path


def _string_arg(call: ast.Call, position: int, keyword: str) -> ast.expr | None:
    if len(call.args) > position:
        return call.args[position]
    return next((k.value for k in call.keywords if k.arg == keyword), None)


def _definitions(module: str, tree: ast.Module) -> Iterator[MetricDef]:
    for node in tree.body:
        if not (isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name)):
            continue
        call = node.value
        if not (isinstance(call, ast.Call) and isinstance(call.func, ast.Name) and call.func.id in METRIC_TYPES):
            continue
        name = _string_arg(call, 0, "name")
        if not (isinstance(name, ast.Constant) and isinstance(name.value, str)):
            continue
        labels = _string_arg(call, 2, "labelnames")
        label_names = (
            tuple(e.value for e in labels.elts if isinstance(e, ast.Constant) and isinstance(e.value, str))
            if isinstance(labels, (ast.List, ast.Tuple))
            else ()
        )
        kind = METRIC_TYPES[call.func.id]
        full = name.value + "_total" if kind == "counter" and not name.value.endswith("_total") else name.value
        yield MetricDef(full, kind, node.targets[0].id, module, label_names)


def _imported(tree: ast.Module) -> set[tuple[str, str]]:
    """(module, name) pairs imported by `from module import name`, anywhere in the module."""
    return {
        (node.module, alias.name)
        for node in ast.walk(tree)
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0
        for alias in node.names
    }


def _used_names(tree: ast.Module) -> set[str]:
    return {node.id for node in ast.walk(tree) if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Load)}


@dataclass(frozen=True)
class MetricCatalogue:
    """Every metric defined in memlane's packages, who references it, and so which components export it."""

    definitions: tuple[MetricDef, ...]
    references: dict[str, frozenset[str]]
    """metric name -> the modules referencing it"""
    exports: dict[str, frozenset[str]]
    """component name -> the metric names it exports"""

    @classmethod
    def scan(cls, root: Path, components: Iterable[Component] = COMPONENTS) -> MetricCatalogue:
        """Read the packages under `root` and the import graph of the installed project."""
        trees = {module: ast.parse(path.read_text(), str(path)) for module, path in _modules(root)}
        definitions = tuple(d for module, tree in trees.items() for d in _definitions(module, tree))
        references: dict[str, set[str]] = {d.name: set() for d in definitions}
        for module, tree in trees.items():
            imported, used = _imported(tree), _used_names(tree)
            for d in definitions:
                if (d.module, d.variable) in imported or (d.module == module and d.variable in used):
                    references[d.name].add(module)
        graph = grimp.build_graph(*PACKAGES, cache_dir=None)
        shared = set(SHARED_WORKER_MODULES)
        exports: dict[str, frozenset[str]] = {}
        for item in components:
            reach = {m for start in item.modules for m in {start, *graph.find_upstream_modules(start)}}
            if item.is_worker:
                reach |= shared
            exports[item.name] = frozenset(name for name, modules in references.items() if modules & reach)
        return cls(definitions, {k: frozenset(v) for k, v in references.items()}, exports)

    def definition(self, name: str) -> MetricDef | None:
        """The metric whose wire name `name` is (`x_total`, `x_bucket`, ... resolve to their metric)."""
        for d in self.definitions:
            if name in series(d.family, d.kind) or name == d.name:
                return d
        return None

    def exporters(self, name: str) -> set[str]:
        """The components exporting the metric that series `name` belongs to."""
        found = self.definition(name)
        if found is None:
            return set()
        return {component for component, names in self.exports.items() if found.name in names}

    def unexported(self) -> list[MetricDef]:
        """Metrics defined in code that no component's code updates."""
        exported = set().union(*self.exports.values())
        return [d for d in self.definitions if d.name not in exported]

    def table(self) -> list[tuple[str, str, list[str]]]:
        """(metric, type, exporting components) for every defined metric, for docs and test messages."""
        return [(d.name, d.kind, sorted(self.exporters(d.name))) for d in self.definitions]


__all__ = ["OPS_METRICS", "PACKAGES", "PROMETHEUS_OWN", "MetricCatalogue", "MetricDef", "series"]
