"""`memlane up | down | status | demo`: the live pipeline as supervised processes.

memlane up            broker (if none answers), topics, every component supervised; returns when ready
memlane up --foreground   run the supervisor in this process (containers, systemd)
memlane status [--json]   pid, uptime, restarts, health, lag per component; freshness p50/p95
memlane demo [--data LOCOMO.json] [--conversation conv-26]
memlane down          stop everything `up` started; says if anything is left running
"""

from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path

import typer
from rich.markup import escape
from rich.table import Table

from streams.cli.context import EXIT_ERROR, console, err_console, get_settings, reported_errors
from streams.ops.demo import run_demo
from streams.ops.lifecycle import Status, down, status, up
from streams.ops.supervisor import Supervisor


def _duration(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    minutes, secs = divmod(int(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h{minutes:02d}m" if hours else f"{minutes}m{secs:02d}s"


def _print(shown: Status) -> None:
    if not shown.up:
        console.print("the pipeline is not up (`memlane up` starts it)")
        return
    table = Table(title=f"memlane pipeline (supervisor pid {shown.supervisor_pid})")
    for column in ("component", "pid", "uptime", "restarts", "last exit", "live", "ready", "lag", "lag s", "stalled"):
        table.add_column(column)
    for c in shown.components:
        table.add_row(
            c.name, str(c.pid or "-"), _duration(c.uptime_s), str(c.restarts),
            "-" if c.last_exit is None else str(c.last_exit), c.live, c.ready,
            "-" if c.lag is None else str(c.lag), "-" if c.lag_seconds is None else f"{c.lag_seconds:.1f}",
            "yes" if c.stalled else "",
        )  # fmt: skip
    console.print(table)
    for priority, (p50, p95, count) in sorted(shown.freshness.items()):
        console.print(f"turn to searchable ({priority}): p50 {p50:.1f} s, p95 {p95:.1f} s over {count} memories")


def up_cmd(
    ctx: typer.Context,
    *,
    foreground: bool = typer.Option(False, "--foreground", help="Run the supervisor in this process."),
    broker_started: bool = typer.Option(False, "--broker-started", hidden=True),
    wait: float = typer.Option(120.0, "--wait", help="Seconds to wait for every component to be ready."),
) -> None:
    """Bring the whole pipeline up: broker, topics, every component supervised (restarted if it dies)."""
    settings = get_settings(ctx)
    if foreground:
        raise typer.Exit(Supervisor(settings, broker_started=broker_started).run())
    with reported_errors():
        shown = up(settings, wait_s=wait)
    _print(shown)
    if not shown.up or any(c.ready != "ok" for c in shown.components):
        err_console.print(f"not every component is ready: see {settings.state_dir / 'logs'}")
        raise typer.Exit(EXIT_ERROR)


def down_cmd(ctx: typer.Context) -> None:
    """Stop everything `memlane up` started (components, supervisor, and the broker if it started it)."""
    settings = get_settings(ctx)
    with reported_errors():
        left = down(settings)
    if left:
        err_console.print(f"[red]still running:[/red] pids {', '.join(map(str, left))}")
        raise typer.Exit(EXIT_ERROR)
    console.print("the pipeline is down; nothing of it is left running")


def status_cmd(ctx: typer.Context, as_json: bool = typer.Option(False, "--json", help="Print JSON.")) -> None:
    """Each component's pid, uptime, restarts, health and consumer lag; freshness p50/p95."""
    settings = get_settings(ctx)
    with reported_errors():
        shown = status(settings)
    if as_json:
        console.print_json(json.dumps(asdict(shown)))
        return
    _print(shown)


def demo_cmd(
    ctx: typer.Context,
    data: Path | None = typer.Option(None, "--data", help="A LoCoMo file (default: the data dir's, or built in)."),
    conversation: str | None = typer.Option(None, "--conversation", help="Which conversation of it."),
) -> None:
    """On a running pipeline: publish a conversation, wait until it is all processed, count, search."""
    settings = get_settings(ctx)
    if not status(settings, with_lag=False).up:
        err_console.print("the pipeline is not up: run `memlane up` first")
        raise typer.Exit(EXIT_ERROR)
    with reported_errors():
        result = run_demo(settings, data=data, conversation=conversation, progress=err_console.print)
    report = result.report
    table = Table(title=f"demo: {result.conversation} settled in {result.waited_s:.0f} s")
    table.add_column("what")
    table.add_column("count", justify="right")
    for what, count in (
        ("turns published", result.published.delivered),
        ("turns skipped / in requests / quarantined", f"{report.turns_skipped} / {report.turns_in_requests} / "
                                                      f"{report.turns_quarantined}"),
        ("requests extracted / parked", f"{report.requests_extracted} / {report.requests_parked}"),
        ("memories / stored", f"{report.memories} / {report.memories_stored}"),
    ):  # fmt: skip
        table.add_row(what, str(count))
    console.print(table)
    console.print(f"verdict: {report.verdict}")
    for question, answers in result.searches:
        console.print(f"[bold]{escape(question)}[/bold]")
        for text in answers:
            console.print(f"  {escape(text[:140])}")
    if not result.searches:
        console.print("(no search: MEMLANE_API_KEYS has no key for tenant " + settings.tenant_id + ")")


__all__ = ["demo_cmd", "down_cmd", "status_cmd", "up_cmd"]
