"""`memlane run`: the whole local pipeline on embedded defaults, end to end, then the counts.

Fetches the Kafka jars if needed, starts a local broker when none answers (and stops it afterwards
unless `--keep-broker`), then runs every stage once over a LoCoMo conversation in a workspace of its own
(see `streams.pipeline_run`) and prints the accounting read back from the topics. Without `--data` and
without a LoCoMo file in the data dir it runs the built-in demo conversation (`streams.demo`).
"""

from __future__ import annotations

from pathlib import Path

import typer
from rich.markup import escape
from rich.table import Table

from streams.cli.context import EXIT_ERROR, console, get_settings, reported_errors
from streams.demo import DEMO_CONVERSATION, DEMO_CONVERSATION_ID
from streams.pipeline_run import RunReport, run_pipeline
from streams.wiring.broker import live_broker, local_broker

DEFAULT_CONVERSATION = "conv-26"


def _print(report: RunReport, conversation: str) -> None:
    published = report.published
    table = Table(title=f"memlane run {report.run_id}: conversation {conversation}")
    table.add_column("stage")
    table.add_column("count", justify="right")
    rows = [
        ("turns published / delivered", f"{published.sent} / {published.delivered}"),
        ("turns offloaded to the blob store", str(published.offloaded)),
        ("turns in extraction requests", str(report.turns_in_requests)),
        ("turns skipped (with a recorded reason)", str(report.turns_skipped)),
        ("turns quarantined", str(report.quarantined)),
        ("extraction requests", str(report.requests)),
        ("tokens forwarded / turn tokens", f"{report.request_tokens} / {report.turn_tokens}"),
        ("memory batches (extractor)", f"{report.memory_batches} ({report.extractor})"),
        ("memories extracted / stored", f"{report.memories} / {report.stored_memories}"),
        ("requests parked in the DLQ", str(report.parked)),
        ("raw windows in the blob store", str(report.windows_stored)),
    ]
    for stage, count in rows:
        table.add_row(stage, count)
    console.print(table)
    if report.skip_reasons:
        console.print("skips: " + ", ".join(f"{k} {v}" for k, v in report.skip_reasons.most_common()))
    console.print(f"search: {report.search_query!r}")
    for score, kind, text in report.search_hits:
        console.print(escape(f"  {score:.3f} [{kind}] {text[:110]}"))
    verdict = "every turn accounted for" if report.accounted else "[red]turns unaccounted for[/red]"
    batches_ok = report.memory_batches + report.parked >= report.requests
    console.print(f"{verdict}; requests = memory batches + parked: {'yes' if batches_ok else 'NO'}")
    if report.cleaned:
        topics = sum(1 for item in report.cleaned if item.startswith("topic "))
        groups = sum(1 for item in report.cleaned if item.startswith("group "))
        console.print(
            f"cleaned up: {topics} topics, {groups} consumer groups and the run's workspace (--keep keeps them)"
        )
    else:
        console.print(f"kept: the run's topics (run-{report.run_id}.*), consumer groups and workspace")


def _input(data: Path | None, default: Path, conversation: str | None) -> tuple[Path, str]:
    """The file and conversation to run: `--data`, else the default LoCoMo file, else the built-in demo."""
    if data is not None or default.is_file():
        return data or default, conversation or DEFAULT_CONVERSATION
    return DEMO_CONVERSATION, conversation or DEMO_CONVERSATION_ID


def run(
    ctx: typer.Context,
    data: Path = typer.Option(
        None,
        "--data",
        help="LoCoMo JSON (default: <data dir>/locomo/locomo_dev5.json, else the built-in demo conversation).",
    ),
    conversation: str = typer.Option(
        None, "--conversation", "-c", help="Which conversation (default: conv-26, or demo-1 for the demo)."
    ),
    keep_broker: bool = typer.Option(False, help="Leave the broker running afterwards."),
    keep: bool = typer.Option(False, "--keep", help="Keep the run's topics, consumer groups and workspace."),
) -> None:
    """Run the pipeline locally on a LoCoMo conversation and print the counts read back."""
    settings = get_settings(ctx)
    default = settings.data_dir / "locomo" / "locomo_dev5.json"
    source, conversation = _input(data, default, conversation)
    if source == DEMO_CONVERSATION:
        console.print(
            f"no LoCoMo data under {escape(str(settings.data_dir))} (MEMLANE_DATA_DIR): "
            f"running the built-in demo conversation {DEMO_CONVERSATION_ID}"
        )
    with reported_errors():
        if keep_broker:
            local_broker(settings).start()
        with live_broker(settings) as live:
            report = run_pipeline(live, source, conversation, keep=keep)
    _print(report, conversation)
    if not report.accounted or report.published.failed:
        raise typer.Exit(EXIT_ERROR)
