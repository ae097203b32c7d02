"""Benchmark reporting: one rich table on stdout and one JSON file per benchmark.

Every benchmark ends with `write_report(name, ...)`: the table is what a person reads, the JSON
(`bench-results/NAME.json`) is what CI and later comparisons read.
"""

from __future__ import annotations

import json
import math
import platform
import statistics
import time
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

DEFAULT_RESULTS_DIR = Path("bench-results")


def percentile(values: Sequence[float], pct: float) -> float:
    """Nearest-rank percentile (pct in 0..100) of a non-empty sequence."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    rank = max(0, min(len(ordered) - 1, round(pct / 100.0 * len(ordered) + 0.5) - 1))
    return float(ordered[rank])


def median(values: Iterable[float]) -> float:
    return float(statistics.median(list(values)))


def _fmt(value: Any) -> str:
    if isinstance(value, float):
        if math.isnan(value):
            return "n/a"
        if abs(value) >= 1000:
            return f"{value:,.0f}"
        return f"{value:.3f}" if abs(value) < 10 else f"{value:.1f}"
    return str(value)


def write_report(
    name: str,
    *,
    columns: Sequence[str],
    rows: Sequence[Mapping[str, Any]],
    summary: Mapping[str, Any],
    results_dir: Path | None = None,
    title: str | None = None,
    notes: Sequence[str] = (),
    console: Console | None = None,
) -> Path:
    """Print `rows` as a table (then the summary) and write everything to `<results_dir>/<name>.json`."""
    out_dir = results_dir or DEFAULT_RESULTS_DIR
    out_dir.mkdir(parents=True, exist_ok=True)
    console = console or Console(width=max(Console().width, 150))
    table = Table(title=title or f"memlane bench {name}")
    for column in columns:
        table.add_column(column)
    for row in rows:
        table.add_row(*(_fmt(row.get(column, "")) for column in columns))
    console.print(table)
    summary_table = Table(title="summary", show_header=False)
    summary_table.add_column("key")
    summary_table.add_column("value")
    for key, value in summary.items():
        if isinstance(value, int | float | str | bool):
            summary_table.add_row(key, _fmt(value))
    console.print(summary_table)
    for note in notes:
        console.print(f"note: {note}")
    payload = {
        "benchmark": name,
        "recorded_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "host": {"python": platform.python_version(), "machine": platform.machine()},
        **dict(summary),
        "rows": [dict(row) for row in rows],
        "notes": list(notes),
    }
    path = out_dir / f"{name}.json"
    path.write_text(json.dumps(payload, indent=2, default=str) + "\n")
    console.print(f"wrote {path}")
    return path


__all__ = ["DEFAULT_RESULTS_DIR", "median", "percentile", "write_report"]
