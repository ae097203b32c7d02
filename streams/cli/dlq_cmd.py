"""`memlane dlq status|report|redrive`: what the dead-letter topic holds, why (per model), and sending it back."""

from __future__ import annotations

import json

import typer
from rich.table import Table

from streams.cli.context import console, err_console, get_settings, reported_errors
from streams.dlq import dlq_status, redrive
from streams.dlq_report import dlq_report

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


@app.command()
def report(
    ctx: typer.Context,
    tenant: str | None = typer.Option(None, help="Only this tenant's requests (all tenants by default)."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """Failures by model, error class and attempt (parked and drained), per 1,000 requests and per 1,000 calls."""
    settings = get_settings(ctx)
    with reported_errors():
        found = dlq_report(settings.stream_context(), settings.extraction.fallback_group_id, tenant_id=tenant)
    if as_json:
        console.print_json(json.dumps(found.as_dict()))
        return
    console.print(
        f"{found.requests} extraction request(s); {found.dead_lettered_requests} dead-lettered "
        f"({found.dlq_rate_per_1000():.1f} per 1,000); DLQ: {found.parked} parked, {found.drained} drained"
    )
    failures = Table(title="DLQ by model, error class and attempt")
    for column in ("model", "error class", "attempt", "parked", "drained", "per 1,000 requests"):
        failures.add_column(column, justify="left" if column in ("model", "error class") else "right")
    for row in found.failure_rows():
        failures.add_row(
            row["model"],
            row["error_class"],
            str(row["attempt"]),
            str(row["parked"]),
            str(row["drained"]),
            f"{row['per_1000_requests']:.1f}",
        )
    console.print(failures)
    calls = Table(title="LLM calls by model (usage topic)")
    for column in ("provider", "model", "calls", "failed", "per 1,000 calls", "by class", "tokens in/out", "cost $"):
        calls.add_column(column, justify="left" if column in ("provider", "model", "by class") else "right")
    for row in found.call_rows():
        classes = ", ".join(f"{name} {rate:.1f}" for name, rate in row["by_class"].items()) or "-"
        calls.add_row(
            row["provider"],
            row["model"],
            str(row["calls"]),
            str(row["failed"]),
            f"{row['failures_per_1000_calls']:.1f}",
            classes,
            f"{row['tokens_in']}/{row['tokens_out']}",
            f"{row['cost_usd']:.4f}",
        )
    console.print(calls)
    if found.undecodable:
        err_console.print(f"{found.undecodable} message(s) could not be decoded and are not counted")


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
