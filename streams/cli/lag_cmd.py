"""`memlane lag`: consumer lag of the pipeline's groups, in messages and seconds, and which partitions stall.

    memlane lag                      # every group of the pipeline, one table
    memlane lag --group G --topic T  # any group (the topics it consumes must be named)
    memlane lag --watch [--interval 5] [--stall-after 120]
    memlane lag --json

The figures are those of `kafka-consumer-groups --describe` (committed offset, log end offset, lag) plus
the age of the oldest unconsumed message. A partition is *stalled* when it has lag and its group has no
member, or (with `--watch`) when its committed offset has not moved for `--stall-after` seconds.
"""

from __future__ import annotations

import json
import time

import typer
from rich.live import Live
from rich.table import Table

from streams.cli.context import console, get_settings, reported_errors
from streams.kafka.consumer_lag import LagMonitor, PartitionLag
from streams.wiring.groups import pipeline_groups


def lag_table(rows: list[PartitionLag]) -> Table:
    table = Table(title="consumer lag")
    for column in ("group", "topic", "partition", "committed", "log end", "lag", "lag s", "members", "state"):
        table.add_column(column, justify="right" if column not in ("group", "topic", "state") else "left")
    for row in rows:
        style = {"stalled": "red", "lagging": "yellow"}.get(row.state, "")
        table.add_row(
            row.group,
            row.topic,
            str(row.partition),
            "-" if row.committed is None else str(row.committed),
            str(row.log_end),
            str(row.lag),
            f"{row.lag_seconds:.1f}",
            str(row.members),
            f"[{style}]{row.state}[/{style}]" if style else row.state,
        )
    return table


def lag(
    ctx: typer.Context,
    *,
    group: list[str] = typer.Option([], "--group", help="A consumer group (repeatable; default: the pipeline's)."),
    topic: list[str] = typer.Option([], "--topic", help="The topics --group consumes (repeatable)."),
    watch: bool = typer.Option(False, "--watch", help="Refresh until Ctrl-C."),
    interval: float = typer.Option(5.0, "--interval", min=0.5, help="Seconds between refreshes (--watch)."),
    stall_after: float = typer.Option(None, "--stall-after", min=1.0, help="Seconds without progress that stall."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """Consumer lag per group, topic and partition (offsets and seconds), with stalled partitions."""
    settings = get_settings(ctx)
    groups = {name: list(topic) for name in group} if group else pipeline_groups(settings)
    if group and not topic:
        console.print("[red]--group needs the --topic(s) it consumes[/red]")
        raise typer.Exit(2)
    monitor = LagMonitor(settings.kafka, stall_after_s=stall_after or settings.ops.stall_after_s)
    with reported_errors():
        rows = monitor.measure(groups)
        if as_json and not watch:
            console.print_json(json.dumps([row.as_dict() for row in rows]))
            return
        if not watch:
            console.print(lag_table(rows))
            return
        with Live(lag_table(rows), console=console, refresh_per_second=2) as live:
            try:
                while True:
                    time.sleep(interval)
                    live.update(lag_table(monitor.measure(groups)))
            except KeyboardInterrupt:
                return


__all__ = ["lag", "lag_table"]
