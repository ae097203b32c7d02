"""`memlane replay`: re-run a time range of production into shadow namespaces, one arm per extractor.

    memlane replay --from 2026-11-30T00:00 --to now --stage processors \\
                   --extractor heuristic --extractor ollama:qwen2.5:0.5b --name ab1 [--qa LOCOMO.json]
    memlane replay list
    memlane replay report ab1 [--qa LOCOMO.json] [--threshold 0.8]
    memlane replay rm ab1

Times are ISO 8601 (UTC when no offset is given), `now`, or relative to now (`-2h`, `-30m`, `-7d`); they
select messages by when they were written to the topic. With two or more arms the A/B report is written
to `<results dir>/replay-<name>/` (Markdown, PNG charts, JSON).
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TaskID, TextColumn, TimeElapsedColumn
from rich.table import Table

from schemas.errors import ConfigError
from streams.cli.context import EXIT_INVALID_INPUT, console, err_console, get_settings, reported_errors
from streams.replay import (
    DEFAULT_THRESHOLD,
    ReplayManifest,
    ReplayNamespace,
    ReplayRequest,
    Selection,
    ab_report,
    list_replays,
    remove_replay,
    run_replay,
    write_ab_report,
)
from streams.settings import Settings

app = typer.Typer(help="Replay a time range into shadow topics and collections; A/B-compare extractors.")
_RELATIVE = re.compile(r"^-(\d+(?:\.\d+)?)([smhd])$")
_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days"}


def parse_moment(text: str, *, now: datetime | None = None) -> datetime:
    """`now`, `-<n>[smhd]`, or an ISO 8601 time (UTC when it names no offset)."""
    moment = now or datetime.now(UTC)
    value = text.strip()
    if value == "now":
        return moment
    relative = _RELATIVE.match(value)
    if relative:
        return moment - timedelta(**{_UNITS[relative.group(2)]: float(relative.group(1))})
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError as exc:
        raise ConfigError(f"{text!r} is not a time: use ISO 8601, 'now' or -<n>[smhd] (e.g. -2h)") from exc
    return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=UTC)


def _report_dir(results_dir: Path, name: str) -> Path:
    return results_dir / f"replay-{name}"


def _write_report(settings: Settings, name: str, qa: Path | None, threshold: float, results_dir: Path) -> list[Path]:
    ns = ReplayNamespace(settings, name)
    if not ns.manifest_path.is_file():
        raise ConfigError(f"no replay named {name} (see `memlane replay list`)")
    manifest = ReplayManifest.load(ns.manifest_path)
    report = ab_report(ns, manifest, qa_path=qa, threshold=threshold, console=err_console)
    return write_ab_report(report, _report_dir(results_dir, name))


@app.callback(invoke_without_command=True)
def replay(
    ctx: typer.Context,
    *,
    start: str | None = typer.Option(None, "--from", help="Start of the range (ISO 8601, now, -2h)."),
    end: str = typer.Option("now", "--to", help="End of the range, exclusive."),
    stage: str = typer.Option("processors", help="Re-run from: processors (turns) or extraction (requests)."),
    extractor: list[str] = typer.Option([], "--extractor", help="An arm: heuristic, ollama[:MODEL], claude[:MODEL]."),
    conversation: list[str] = typer.Option([], "--conversation", help="Only these conversations (repeatable)."),
    tenant: str | None = typer.Option(None, help="Only this tenant's events."),
    name: str | None = typer.Option(None, help="The replay's name (default: replay-<UTC time>)."),
    qa: Path | None = typer.Option(None, "--qa", help="A LoCoMo file: score each arm's memories on its questions."),
    threshold: float = typer.Option(DEFAULT_THRESHOLD, min=0.0, max=1.0, help="Coverage similarity threshold."),
    results_dir: Path = typer.Option(Path("bench-results"), help="Where the A/B report folder goes."),
) -> None:
    """Replay `--from`..`--to` through one stage into shadow topics and collections, once per `--extractor`."""
    if ctx.invoked_subcommand is not None:
        return
    if start is None or not extractor:
        err_console.print("memlane replay needs --from and at least one --extractor (or a command: list, report, rm)")
        raise typer.Exit(EXIT_INVALID_INPUT)
    if stage not in ("processors", "extraction"):
        err_console.print(f"--stage must be processors or extraction, not {stage!r}")
        raise typer.Exit(EXIT_INVALID_INPUT)
    settings = get_settings(ctx)
    with reported_errors():
        now = datetime.now(UTC)
        request = ReplayRequest(
            name=name or now.strftime("replay-%Y%m%dt%H%M%S"),
            stage=stage,  # type: ignore[arg-type]
            start=parse_moment(start, now=now),
            end=parse_moment(end, now=now),
            extractors=tuple(extractor),
            selection=Selection(tenant, tuple(conversation)),
            asked=(start, end),
        )
        with Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            console=err_console,
        ) as progress:
            tasks: dict[str, TaskID] = {}

            def advance(step: str, done: int, total: int) -> None:
                if step not in tasks:
                    tasks[step] = progress.add_task(step, total=total)
                progress.update(tasks[step], completed=done, total=total)

            result = run_replay(settings, request, advance)
        copy = result.copy
        console.print(
            f"replay {request.name}: {copy.copied} message(s) copied ({copy.already_copied} before), "
            f"{copy.filtered_out} outside the selection, {copy.undecodable_skipped} undecodable skipped"
        )
        table = Table(title=f"arms of replay {request.name}")
        for column in ("arm", "extracted", "dead-lettered", "fallback", "stored", "accounting"):
            table.add_column(column)
        for arm in result.arms:
            table.add_row(
                arm.arm.label,
                str(arm.extracted),
                str(arm.dead_lettered),
                str(arm.fallback_extracted),
                str(arm.stored),
                arm.accounting,
            )
        console.print(table)
        written = _write_report(settings, request.name, qa, threshold, results_dir)
        console.print(f"report: {written[1]}")


@app.command("report")
def report_cmd(
    ctx: typer.Context,
    name: str = typer.Argument(..., help="The replay."),
    qa: Path | None = typer.Option(None, "--qa", help="A LoCoMo file: score each arm's memories on its questions."),
    threshold: float = typer.Option(DEFAULT_THRESHOLD, min=0.0, max=1.0, help="Coverage similarity threshold."),
    results_dir: Path = typer.Option(Path("bench-results"), help="Where the A/B report folder goes."),
) -> None:
    """(Re)write the A/B report of replay NAME from its topics and collections."""
    settings = get_settings(ctx)
    with reported_errors():
        written = _write_report(settings, name, qa, threshold, results_dir)
    for path in written:
        console.print(str(path))


@app.command("list")
def list_cmd(ctx: typer.Context) -> None:
    """Replays with a workspace or topics on the broker."""
    settings = get_settings(ctx)
    with reported_errors():
        found = list_replays(settings)
    table = Table(title="replays")
    for column in ("name", "stage", "from", "to", "arms", "steps done", "topics"):
        table.add_column(column)
    for item in found:
        m = item.manifest
        table.add_row(
            item.name,
            m.stage if m else "?",
            m.start.isoformat(timespec="seconds") if m else "?",
            m.end.isoformat(timespec="seconds") if m else "?",
            ", ".join(m.arms) if m else "?",
            ", ".join(m.steps_done) if m else "(no workspace)",
            str(len(item.topics)),
        )
    console.print(table)


@app.command("rm")
def rm_cmd(ctx: typer.Context, name: str = typer.Argument(..., help="The replay to delete.")) -> None:
    """Delete replay NAME: its topics, consumer groups, collections and workspace (production is not touched)."""
    settings = get_settings(ctx)
    with reported_errors():
        removed = remove_replay(settings, name)
    console.print(f"removed replay {name}: {len(removed)} item(s)")
    for item in removed:
        console.print(f"  {item}")
