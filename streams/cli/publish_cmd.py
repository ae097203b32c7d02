"""`memlane publish FILE`: validate a file of turns, then publish them with a progress bar and a summary.

Formats: `jsonl` (one ConversationTurn per line, see `docs/turns-jsonl.md`) and `locomo` (LoCoMo
conversations). Nothing is sent until every line has been parsed, validated, claim-checked and encoded: one
bad line rejects the file, naming its line and field. When the broker does not confirm some turns (an
outage longer than the producer's retries), the summary names their lines: ids are deterministic, so
publishing exactly those lines again is safe.
Exit codes: 0 all delivered, 1 some deliveries failed, 2 invalid input (nothing sent).
"""

from __future__ import annotations

from pathlib import Path

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table

from schemas.errors import CodecError, DeliveryError, ValidationError
from streams.cli.context import (
    EXIT_ERROR,
    EXIT_INVALID_INPUT,
    console,
    err_console,
    get_settings,
    reported_errors,
)
from streams.ingest.publisher import PreparedTurn, PublishSummary, TurnPublisher
from streams.ingest.turn_files import InputFormat, TaggedTurn, load_tagged
from streams.settings import Settings
from streams.wiring.stores import blob_store, publisher

MAX_ERRORS_SHOWN = 20


def _progress(show: bool, what: str) -> Progress:
    return Progress(
        TextColumn(what),
        BarColumn(),
        MofNCompleteColumn(),
        TimeRemainingColumn(),
        console=err_console,
        disable=not show,
    )


def prepare_all(
    turn_publisher: TurnPublisher, turns: list[TaggedTurn], *, show_progress: bool = True
) -> tuple[list[tuple[str, PreparedTurn]], list[str]]:
    """Every turn claim-checked, checked and encoded, or the reasons (by line) it cannot be sent."""
    ready: list[tuple[str, PreparedTurn]] = []
    errors: list[str] = []
    with _progress(show_progress, "validating") as progress:
        task = progress.add_task("turns", total=len(turns))
        for tagged in turns:
            try:
                ready.append((tagged.tag, turn_publisher.prepare(tagged.turn)))
            except (ValidationError, CodecError) as exc:
                field = f" field '{exc.field}':" if isinstance(exc, ValidationError) and exc.field else ""
                errors.append(f"{tagged.tag}:{field} {exc}")
            progress.advance(task)
    return ready, errors


def publish_turns(settings: Settings, turns: list[TaggedTurn], *, show_progress: bool = True) -> PublishSummary:
    """Prepare every turn, then send them all (large content claim-checked into the blob store).

    Raises `ValidationError` listing the lines that cannot be sent; then nothing is sent."""
    with blob_store(settings) as blobs, publisher(settings, blobs) as turn_publisher:
        ready, errors = prepare_all(turn_publisher, turns, show_progress=show_progress)
        if errors:
            turn_publisher.summary.rejected = len(errors)
            raise RejectedFileError(errors, turn_publisher.summary)
        with _progress(show_progress, "publishing") as progress:
            task = progress.add_task("turns", total=len(ready))
            for tag, prepared in ready:
                turn_publisher.send(prepared, tag=tag)
                progress.advance(task)
            progress.update(task, description="flushing")
            try:
                return turn_publisher.flush()
            except DeliveryError:
                return turn_publisher.summary


class RejectedFileError(ValidationError):
    """Lines of a file that cannot be sent (nothing of it was)."""

    def __init__(self, errors: list[str], summary: PublishSummary) -> None:
        super().__init__(f"{len(errors)} line(s) cannot be sent")
        self.errors = errors
        self.summary = summary


def print_summary(summary: PublishSummary) -> None:
    table = Table(title="publish summary")
    for column in ("sent", "delivered", "rejected", "failed", "offloaded"):
        table.add_column(column)
    counts = summary.as_dict()
    table.add_row(*(str(counts[c]) for c in ("sent", "delivered", "rejected", "failed", "offloaded")))
    console.print(table)
    for failure in summary.failures[:MAX_ERRORS_SHOWN]:
        err_console.print(f"[red]failed[/red] {failure}")
    if summary.undelivered:
        shown = ", ".join(summary.undelivered[:50])
        more = f" and {len(summary.undelivered) - 50} more" if len(summary.undelivered) > 50 else ""
        err_console.print(
            f"[red]not delivered ({len(summary.undelivered)}):[/red] {shown}{more}\n"
            "publish these again (e.g. with --only-lines): event ids are deterministic, so a re-publish "
            "cannot duplicate a turn"
        )


def _reject(errors: list[str], summary: PublishSummary) -> None:
    for error in errors[:MAX_ERRORS_SHOWN]:
        err_console.print(f"[red]rejected[/red] {error}")
    more = len(errors) - MAX_ERRORS_SHOWN
    if more > 0:
        err_console.print(f"... and {more} more invalid line(s)")
    summary.rejected = len(errors)
    print_summary(summary)
    err_console.print("nothing was sent: fix the lines above and publish again")
    raise typer.Exit(EXIT_INVALID_INPUT)


def _only(turns: list[TaggedTurn], lines: str | None) -> list[TaggedTurn]:
    """The turns whose line numbers `lines` names (`4,7-9`); all of them without it."""
    if not lines:
        return turns
    wanted: set[str] = set()
    for part in lines.split(","):
        start, _, end = part.strip().partition("-")
        if not start.isdigit() or (end and not end.isdigit()):
            raise typer.BadParameter(f"--only-lines takes numbers and ranges such as 4,7-9, not {part!r}")
        wanted.update(f"line {n}" for n in range(int(start), int(end or start) + 1))
    return [tagged for tagged in turns if tagged.tag in wanted]


def publish(
    ctx: typer.Context,
    file: Path = typer.Argument(..., help="File of turns to publish."),
    *,
    fmt: InputFormat = typer.Option(InputFormat.JSONL, "--format", "-f", help="Input format."),
    conversation: list[str] = typer.Option(None, "--conversation", "-c", help="Only these conversation ids."),
    only_lines: str = typer.Option(None, "--only-lines", help="Only these JSONL lines, e.g. 4,7-9 (re-publishing)."),
    progress: bool = typer.Option(True, help="Show a progress bar."),
) -> None:
    """Publish conversation turns from FILE to the turns topic."""
    settings = get_settings(ctx)
    with reported_errors():
        try:
            turns, errors = load_tagged(file, fmt, tenant_id=settings.tenant_id, conversations=conversation)
        except (UnicodeDecodeError, IsADirectoryError, PermissionError) as exc:
            err_console.print(f"[red]rejected:[/red] {file}: cannot be read as UTF-8 text ({exc})")
            raise typer.Exit(EXIT_INVALID_INPUT) from exc
        except ValidationError as exc:
            err_console.print(f"[red]rejected:[/red] {exc}")
            raise typer.Exit(EXIT_INVALID_INPUT) from exc
        if errors:
            _reject([str(error) for error in errors], PublishSummary())
        try:
            summary = publish_turns(settings, _only(turns, only_lines), show_progress=progress)
        except RejectedFileError as rejected:
            _reject(rejected.errors, rejected.summary)
    print_summary(summary)
    if summary.failed or summary.delivered != summary.sent:
        raise typer.Exit(EXIT_ERROR)
