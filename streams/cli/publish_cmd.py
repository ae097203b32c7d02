"""`memlane publish FILE`: validate a file of turns, then publish them with a progress bar and a summary.

Formats: `jsonl` (one ConversationTurn per line) and `locomo` (LoCoMo conversations). The whole file
is validated before anything is sent: one invalid line rejects the file, naming line and field.
Exit codes: 0 all delivered, 1 some deliveries failed, 2 invalid input (nothing sent).
"""

from __future__ import annotations

from pathlib import Path

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table

from schemas.errors import ValidationError
from schemas.events import ConversationTurn
from streams.cli.context import (
    EXIT_ERROR,
    EXIT_INVALID_INPUT,
    console,
    err_console,
    get_settings,
    reported_errors,
)
from streams.ingest.publisher import PublishSummary
from streams.ingest.turn_files import InputFormat, load_turns
from streams.settings import Settings
from streams.wiring.stores import blob_store, publisher

MAX_ERRORS_SHOWN = 20


def publish_turns(settings: Settings, turns: list[ConversationTurn], *, show_progress: bool = True) -> PublishSummary:
    """Publish with a progress bar (large content claim-checked into the blob store); returns the summary."""
    with (
        blob_store(settings) as blobs,
        publisher(settings, blobs) as turn_publisher,
        Progress(
            TextColumn("publishing"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeRemainingColumn(),
            console=err_console,
            disable=not show_progress,
        ) as progress,
    ):
        task = progress.add_task("turns", total=len(turns))
        for turn in turns:
            turn_publisher.publish(turn)
            progress.advance(task)
        progress.update(task, description="flushing")
        return turn_publisher.flush()


def print_summary(summary: PublishSummary) -> None:
    table = Table(title="publish summary")
    for column in ("sent", "delivered", "rejected", "failed", "offloaded"):
        table.add_column(column)
    counts = summary.as_dict()
    table.add_row(*(str(counts[c]) for c in ("sent", "delivered", "rejected", "failed", "offloaded")))
    console.print(table)
    for failure in summary.failures[:MAX_ERRORS_SHOWN]:
        err_console.print(f"[red]failed[/red] {failure}")


def publish(
    ctx: typer.Context,
    file: Path = typer.Argument(..., help="File of turns to publish."),
    fmt: InputFormat = typer.Option(InputFormat.JSONL, "--format", "-f", help="Input format."),
    conversation: list[str] = typer.Option(None, "--conversation", "-c", help="Only these conversation ids."),
    progress: bool = typer.Option(True, help="Show a progress bar."),
) -> None:
    """Publish conversation turns from FILE to the turns topic."""
    settings = get_settings(ctx)
    with reported_errors():
        try:
            turns, errors = load_turns(file, fmt, tenant_id=settings.tenant_id, conversations=conversation)
        except (UnicodeDecodeError, IsADirectoryError, PermissionError) as exc:
            err_console.print(f"[red]rejected:[/red] {file}: cannot be read as UTF-8 text ({exc})")
            raise typer.Exit(EXIT_INVALID_INPUT) from exc
        except ValidationError as exc:
            err_console.print(f"[red]rejected:[/red] {exc}")
            raise typer.Exit(EXIT_INVALID_INPUT) from exc
        if errors:
            for error in errors[:MAX_ERRORS_SHOWN]:
                err_console.print(f"[red]rejected[/red] {error}")
            more = len(errors) - MAX_ERRORS_SHOWN
            if more > 0:
                err_console.print(f"... and {more} more invalid line(s)")
            print_summary(PublishSummary(rejected=len(errors)))
            err_console.print("nothing was sent: fix the lines above and publish again")
            raise typer.Exit(EXIT_INVALID_INPUT)
        summary = publish_turns(settings, turns, show_progress=progress)
    print_summary(summary)
    if summary.failed or summary.delivered != summary.sent:
        raise typer.Exit(EXIT_ERROR)
