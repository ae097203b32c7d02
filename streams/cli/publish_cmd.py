"""`memlane publish FILE`: validate a file of turns, then publish them with a progress bar and a summary.

Formats: `jsonl` (one ConversationTurn per line) and `locomo` (LoCoMo conversations). The whole file
is validated before anything is sent: one invalid line rejects the file, naming line and field.
Exit codes: 0 all delivered, 1 some deliveries failed, 2 invalid input (nothing sent).
"""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table

from schemas.errors import ValidationError
from schemas.events import ConversationTurn
from sinks.blobstore import BlobStore
from streams.claim_check import BlobClaimCheck
from streams.cli.context import (
    EXIT_ERROR,
    EXIT_INVALID_INPUT,
    console,
    err_console,
    get_settings,
    reported_errors,
)
from streams.ingest import locomo_turns, read_turns_jsonl
from streams.publisher import PublishSummary, TurnPublisher
from streams.settings import Settings

MAX_ERRORS_SHOWN = 20


class InputFormat(StrEnum):
    JSONL = "jsonl"
    LOCOMO = "locomo"


def load_turns(
    path: Path, fmt: InputFormat, settings: Settings, conversations: list[str] | None = None
) -> tuple[list[ConversationTurn], list[ValidationError]]:
    """All turns of a file, or the errors that reject it."""
    if not path.exists():
        raise ValidationError(f"{path}: no such file")
    turns: list[ConversationTurn] = []
    errors: list[ValidationError] = []
    if fmt is InputFormat.LOCOMO:
        turns = [item.turn for item in locomo_turns(path, tenant_id=settings.tenant_id)]
    else:
        for parsed in read_turns_jsonl(path, tenant_id=settings.tenant_id):
            if parsed.error is not None:
                errors.append(parsed.error)
            elif parsed.turn is not None:
                turns.append(parsed.turn)
    if conversations:
        wanted = set(conversations)
        turns = [turn for turn in turns if turn.conversation_id in wanted]
    return turns, errors


def publish_turns(settings: Settings, turns: list[ConversationTurn], *, show_progress: bool = True) -> PublishSummary:
    """Publish with a progress bar (large content claim-checked into the blob store); returns the summary."""
    with (
        BlobStore(settings.blob_dir) as blobs,
        TurnPublisher(settings, claim_check=BlobClaimCheck(blobs)) as publisher,
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
            publisher.publish(turn)
            progress.advance(task)
        progress.update(task, description="flushing")
        return publisher.flush()


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
            turns, errors = load_turns(file, fmt, settings, conversation)
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
