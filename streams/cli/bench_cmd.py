"""`memlane bench NAME`: run one benchmark; each prints a table and writes `bench-results/NAME.json`.

Every benchmark module `streams.bench.<module>` exposes
`run(settings, *, data=None, results_dir=None, quick=False) -> dict` and is self-contained: it starts
the local broker and whatever else it needs when none answers, and leaves the machine as it found it.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from pathlib import Path
from typing import Any

import typer

from streams.cli.context import err_console, get_settings, reported_errors
from streams.settings import Settings

BenchRunner = Callable[[Settings, Path | None, Path | None, bool], Any]


def _publish(settings: Settings, data: Path | None, results: Path | None, quick: bool) -> Any:
    from streams.bench import publish

    return publish.run(
        settings, data=data, results_dir=results, messages=5000 if quick else 20000, rounds=3 if quick else 5
    )


def _offload(settings: Settings, data: Path | None, results: Path | None, quick: bool) -> Any:
    from streams.bench import offload_bench as offload

    return offload.run(data or settings.data_source_dir, results_dir=results)


def _storage(settings: Settings, data: Path | None, results: Path | None, quick: bool) -> Any:
    from streams.bench import storage

    return storage.run(results_dir=results, n=10_000 if quick else 100_000)


def _search(settings: Settings, data: Path | None, results: Path | None, quick: bool) -> Any:
    from streams.bench import search

    if quick:
        return search.run(results_dir=results, n=10_000, n_large=50_000, queries=100, max_build_s=60.0)
    return search.run(results_dir=results)


def _module(module: str) -> BenchRunner:
    def runner(settings: Settings, data: Path | None, results: Path | None, quick: bool) -> Any:
        bench_module = importlib.import_module(f"streams.bench.{module}")
        return bench_module.run(settings, data=data, results_dir=results, quick=quick)

    return runner


BENCHMARKS: dict[str, BenchRunner] = {
    "publish": _publish,
    "processors": _module("processors_bench"),
    "locomo-filter": _module("locomo_filter"),
    "extract": _module("extract_bench"),
    "storage": _storage,
    "search": _search,
    "retrieval": _module("retrieval"),
    "offload": _offload,
}


def bench(
    ctx: typer.Context,
    name: str = typer.Argument(..., help="Benchmark name."),
    data: Path = typer.Option(None, "--data", help="Input data (file or directory) where the benchmark takes one."),
    results_dir: Path = typer.Option(None, "--results-dir", help="Where NAME.json goes (default bench-results/)."),
    quick: bool = typer.Option(False, "--quick", help="Smaller sizes, for smoke runs."),
) -> None:
    """Run benchmark NAME (starts a local broker and other services if none answer, and stops them after)."""
    runner = BENCHMARKS.get(name)
    if runner is None:
        err_console.print(f"unknown benchmark {name!r}; known: {', '.join(sorted(BENCHMARKS))}")
        raise typer.Exit(2)
    settings = get_settings(ctx)
    with reported_errors():
        runner(settings, data, results_dir, quick)
