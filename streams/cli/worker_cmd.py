"""`memlane worker NAME`: run one pipeline component as a long-lived process (Ctrl-C / SIGTERM stops it cleanly).

Each worker is built from the settings by `streams.wiring.workers` (`WORKERS[name](settings, idle_exit_s=...)`).
"""

from __future__ import annotations

import typer

from streams.cli.context import get_settings, reported_errors
from streams.metrics import serve_metrics
from streams.wiring.workers import WORKERS

app = typer.Typer(help="Run a pipeline component.", no_args_is_help=True)

IDLE_HELP = "Exit after this many idle seconds (default: run until stopped)."


def _run(ctx: typer.Context, name: str, idle_exit_s: float | None) -> None:
    settings = get_settings(ctx)
    serve_metrics(settings.metrics_port)
    with reported_errors():
        WORKERS[name](settings, idle_exit_s=idle_exit_s)


@app.command("processors")
def processors(ctx: typer.Context, idle_exit_s: float = typer.Option(None, "--idle-exit", help=IDLE_HELP)) -> None:
    """Change detection, dedupe and priority scoring (faust-streaming app): turns -> requests + skip records."""
    _run(ctx, "processors", idle_exit_s)


@app.command("extract")
def extract(ctx: typer.Context, idle_exit_s: float = typer.Option(None, "--idle-exit", help=IDLE_HELP)) -> None:
    """Extraction worker: requests -> memories (Ollama, or the heuristic extractor offline); failures -> DLQ."""
    _run(ctx, "extract", idle_exit_s)


@app.command("fallback")
def fallback(ctx: typer.Context, idle_exit_s: float = typer.Option(None, "--idle-exit", help=IDLE_HELP)) -> None:
    """Fallback consumer: drains the DLQ to Claude; what it cannot handle stays parked."""
    _run(ctx, "fallback", idle_exit_s)


@app.command("sink-qdrant")
def sink_qdrant(ctx: typer.Context, idle_exit_s: float = typer.Option(None, "--idle-exit", help=IDLE_HELP)) -> None:
    """Memory sink: memories -> embeddings -> Qdrant (embedded engine by default)."""
    _run(ctx, "sink-qdrant", idle_exit_s)


@app.command("summarise")
def summarise(ctx: typer.Context, idle_exit_s: float = typer.Option(None, "--idle-exit", help=IDLE_HELP)) -> None:
    """Summarise worker: requests -> summaries at levels 1-3 (local model); level-3 failures -> DLQ -> Claude."""
    _run(ctx, "summarise", idle_exit_s)


@app.command("sink-blobs")
def sink_blobs(ctx: typer.Context, idle_exit_s: float = typer.Option(None, "--idle-exit", help=IDLE_HELP)) -> None:
    """Blob sink: keeps the raw extraction windows that memories point to."""
    _run(ctx, "sink-blobs", idle_exit_s)


@app.command("label")
def label(ctx: typer.Context, idle_exit_s: float = typer.Option(None, "--idle-exit", help=IDLE_HELP)) -> None:
    """Label worker: memories -> the local model's labels -> label batches on the memories topic (off the write
    path; the memory sink applies them, replacing the heuristic tags)."""
    _run(ctx, "label", idle_exit_s)
