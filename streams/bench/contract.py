"""The one benchmark contract: options in, a report out (a table, a JSON file, optional PNG charts).

    report = BENCHMARKS["publish"].run(BenchOptions(settings, quick=True))
    report.write()      # prints the table and the summary, writes bench-results/publish.json

A benchmark module exposes `run(options: BenchOptions) -> BenchReport`. It is self-contained: it starts
the local broker and whatever else it needs when none answers, and leaves the machine as it found it.
Throughput and latency goals live in the report (`goal_*`, `meets_goal*` keys), never in timed tests.
"""

from __future__ import annotations

import importlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rich.console import Console

from streams.bench.report import DEFAULT_RESULTS_DIR, write_report
from streams.settings import Settings


@dataclass(frozen=True)
class BenchOptions:
    """What every benchmark is given: the settings, an input (file or folder), where results go, the size."""

    settings: Settings
    data: Path | None = None
    results_dir: Path = DEFAULT_RESULTS_DIR
    quick: bool = False
    ollama_url: str | None = None
    """A real Ollama server named on the command line (`--ollama-url`): benchmarks that call a model use it."""
    minutes: float | None = None
    """How long a benchmark that runs for a while (`soak`) runs (`--minutes`); None: its default."""
    limit: int | None = None
    """At most this many items where a benchmark calls a slow model on each (`labels`: memories labelled)."""

    def data_path(self, relative: str) -> Path:
        """`--data` when given, else `relative` under the evaluation data directory (`MEMLANE_DATA_DIR`)."""
        return self.data or self.settings.data_dir / relative


@dataclass
class BenchReport:
    """A benchmark's result: rows of its table, the headline summary, notes, and the charts it drew."""

    name: str
    columns: Sequence[str]
    rows: Sequence[Mapping[str, Any]]
    summary: Mapping[str, Any]
    title: str | None = None
    notes: Sequence[str] = ()
    charts: Sequence[Path] = ()

    def as_dict(self) -> dict[str, Any]:
        """The summary with the rows and charts, as the JSON file holds them."""
        return {**dict(self.summary), "rows": [dict(row) for row in self.rows], "charts": [str(c) for c in self.charts]}

    def write(self, results_dir: Path = DEFAULT_RESULTS_DIR, *, console: Console | None = None) -> Path:
        """Print the table and summary, write `<results_dir>/<name>.json`; returns its path."""
        summary = {**dict(self.summary), "charts": [str(chart) for chart in self.charts]}
        return write_report(
            self.name,
            columns=self.columns,
            rows=self.rows,
            summary=summary,
            results_dir=results_dir,
            title=self.title,
            notes=self.notes,
            console=console,
        )


@dataclass(frozen=True)
class Benchmark:
    """A registered benchmark: its command name, the module that runs it, and one line saying what it measures."""

    name: str
    module: str
    about: str
    needs: tuple[str, ...] = field(default=())

    def run(self, options: BenchOptions) -> BenchReport:
        runner = importlib.import_module(f"streams.bench.{self.module}")
        report: BenchReport = runner.run(options)
        return report


__all__ = ["BenchOptions", "BenchReport", "Benchmark"]
