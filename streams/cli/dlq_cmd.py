"""`memlane dlq status|redrive`: what is parked in the dead-letter topic, and sending it back to extraction."""

from __future__ import annotations

import json

import typer
from rich.table import Table

from streams.cli.context import console, err_console, get_settings, reported_errors
from streams.dlq import dlq_status, redrive

app = typer.Typer(help="Inspect and re-drive the dead-letter topic.", no_args_is_help=True)


@app.command()
def status(ctx: typer.Context, as_json: bool = typer.Option(False, "--json", help="Print JSON.")) -> None:
    """Parked requests by error class and attempts."""
    settings = get_settings(ctx)
    with reported_errors():
        state = dlq_status(settings.kafka, settings.topics.dlq, settings.extraction.fallback_group_id)
    if as_json:
        payload = {
            "total": state.total,
            "handled": state.handled,
            "parked": state.parked,
            "by_class": dict(state.by_class),
            "by_attempts": {str(k): v for k, v in state.by_attempts.items()},
        }
        console.print_json(json.dumps(payload))
        return
    console.print(f"DLQ {settings.topics.dlq}: {state.total} in topic, {state.handled} handled, {state.parked} parked")
    table = Table(title="parked by error class")
    table.add_column("error class")
    table.add_column("requests")
    for name, count in state.by_class.most_common():
        table.add_row(name, str(count))
    console.print(table)


@app.command("redrive")
def redrive_cmd(
    ctx: typer.Context,
    force: bool = typer.Option(False, help="Re-drive even when Ollama does not answer."),
) -> None:
    """Send parked requests back to extraction (once Ollama is healthy again)."""
    settings = get_settings(ctx)
    if not force and settings.extractor != "heuristic":
        from processors.extraction.ollama_extractor import OllamaExtractor

        extractor = OllamaExtractor.connect(settings.ollama_url, settings.extraction)
        try:
            health = extractor.health().check()
        finally:
            extractor.close()
        if not health.ok:
            err_console.print(
                f"Ollama at {settings.ollama_url} is not healthy ({health.error or 'missing models'}); "
                "re-driving now would park the requests again (use --force)"
            )
            raise typer.Exit(1)
    with reported_errors():
        moved = redrive(
            settings.kafka, settings.topics.dlq, settings.topics.requests, settings.extraction.fallback_group_id
        )
    console.print(f"re-drove {moved.parked} request(s) to {settings.topics.requests}")
    for name, count in moved.by_class.most_common():
        console.print(f"  {name}: {count}")
