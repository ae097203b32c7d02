"""`memlane bench NAME`: run one benchmark; each prints a table and writes `bench-results/NAME.json`.

Every benchmark follows one contract (`streams.bench.contract`): `BenchOptions` in, `BenchReport` out.
`--ollama-url` and `--model` point the benchmarks that call a model at a server of your own: `memlane bench extract
--ollama-url URL --model NAME` measures that real server over the LoCoMo dev windows (`extract-real.json`).
"""

from __future__ import annotations

from pathlib import Path

import typer

from streams.bench import BENCHMARKS, BenchOptions
from streams.bench.report import DEFAULT_RESULTS_DIR
from streams.cli.context import err_console, get_settings, reported_errors


def bench(
    ctx: typer.Context,
    name: str = typer.Argument(..., help=f"Benchmark name: {', '.join(BENCHMARKS)}."),
    *,
    data: Path = typer.Option(None, "--data", help="Input data (file or directory) where the benchmark takes one."),
    results_dir: Path = typer.Option(DEFAULT_RESULTS_DIR, "--results-dir", help="Where NAME.json (and PNGs) go."),
    quick: bool = typer.Option(False, "--quick", help="Smaller sizes, for smoke runs."),
    ollama_url: str = typer.Option(None, "--ollama-url", help="A real Ollama server for benchmarks that call one."),
    model: str = typer.Option(None, "--model", help="The model to use on --ollama-url (both routes)."),
    minutes: float = typer.Option(None, "--minutes", min=0.05, help="How long `soak` runs (default 2)."),
    limit: int = typer.Option(None, "--limit", min=1, help="At most this many items a slow model sees (`labels`)."),
) -> None:
    """Run benchmark NAME (starts a local broker and other services if none answer, and stops them after)."""
    benchmark = BENCHMARKS.get(name)
    if benchmark is None:
        err_console.print(f"unknown benchmark {name!r}; known: {', '.join(BENCHMARKS)}")
        raise typer.Exit(2)
    settings = get_settings(ctx)
    if ollama_url:
        settings = settings.model_copy(update={"ollama_url": ollama_url})
    if model:
        extraction = settings.extraction.model_copy(update={"fast_model": model, "complex_model": model})
        settings = settings.model_copy(update={"extraction": extraction})
    with reported_errors():
        options = BenchOptions(
            settings,
            data=data,
            results_dir=results_dir,
            quick=quick,
            ollama_url=ollama_url,
            minutes=minutes,
            limit=limit,
        )
        report = benchmark.run(options)
        report.write(results_dir)
