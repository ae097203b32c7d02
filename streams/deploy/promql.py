"""PromQL checked by a real parser (promql-parser, the Rust parser's Python binding): parse, and name the series.

Grafana's interval variables (`$__rate_interval`, `$__interval`, `$__range`) stand for durations Grafana fills
in; they are replaced by `5m` before parsing. Any other `$variable` must sit inside a quoted label value.
"""

from __future__ import annotations

import re
from typing import Any

from schemas.errors import ConfigError

try:
    import promql_parser
except ImportError as exc:  # pragma: no cover - the ops extra is part of `all`
    raise ImportError("PromQL checks need the ops extra: pip install 'memlane[ops]'") from exc

_GRAFANA_INTERVALS = re.compile(r"\$__(rate_interval|interval|range)\b|\$\{__(rate_interval|interval|range)\}")


class PromQLError(ConfigError):
    """An expression Prometheus would refuse."""


def parse(expr: str) -> Any:
    """The AST of `expr` (Grafana interval variables filled in); `PromQLError` if it does not parse."""
    text = _GRAFANA_INTERVALS.sub("5m", expr)
    try:
        return promql_parser.parse(text)
    except ValueError as exc:
        raise PromQLError(f"{exc}: {expr}") from exc


def metric_names(expr: str) -> set[str]:
    """Every metric name a selector of `expr` reads (`x{...}` and `{__name__="x"}`)."""
    names: set[str] = set()

    def visit(node: Any, *_: Any) -> bool:
        if isinstance(node, promql_parser.VectorSelector):
            if node.name:
                names.add(node.name)
            names.update(
                m.value for m in node.matchers.matchers if m.name == "__name__" and m.op == promql_parser.MatchOp.Equal
            )
        return True

    promql_parser.walk(parse(expr), visit)
    return names


__all__ = ["PromQLError", "metric_names", "parse"]
