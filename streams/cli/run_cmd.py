"""`memlane run`: the whole local pipeline on embedded defaults, end to end, then the counts.

Fetches the Kafka jars if needed, starts a local broker when none answers (and stops it afterwards
unless `--keep-broker`), provisions the topics, publishes a LoCoMo conversation and reads the turns
topic back, printing what was sent, delivered and read back.
"""

from __future__ import annotations

from pathlib import Path

import typer
from confluent_kafka.admin import AdminClient
from rich.table import Table

from streams.broker import LocalBroker, ensure_broker
from streams.cli.context import EXIT_ERROR, console, get_settings, reported_errors
from streams.cli.publish_cmd import InputFormat, load_turns, publish_turns
from streams.events.codec import codec_for
from streams.events.models import ConversationTurn
from streams.kafka.consumer import read_topic
from streams.kafka.provision import provision
from streams.kafka.topics import topic_catalogue


def run(
    ctx: typer.Context,
    data: Path = typer.Option(None, "--data", help="LoCoMo JSON (default: <data dir>/locomo/locomo_dev5.json)."),
    conversation: str = typer.Option("conv-26", "--conversation", "-c", help="Which LoCoMo conversation."),
    keep_broker: bool = typer.Option(False, help="Leave the broker running afterwards."),
) -> None:
    """Run the pipeline locally on a LoCoMo conversation and print the counts read back."""
    settings = get_settings(ctx)
    source = data or settings.data_source_dir / "locomo" / "locomo_dev5.json"
    with reported_errors():
        if keep_broker:
            LocalBroker(settings.broker).start()
        with ensure_broker(settings) as live:
            report = provision(AdminClient(live.kafka_config()), topic_catalogue(live))
            console.print(f"topics: {len(report.created)} created, {len(report.unchanged)} unchanged")
            turns, _ = load_turns(source, InputFormat.LOCOMO, live, [conversation])
            if not turns:
                console.print(f"[red]no turns for conversation {conversation} in {source}[/red]")
                raise typer.Exit(EXIT_ERROR)
            summary = publish_turns(live, turns)
            codec = codec_for(live.schema_registry_url, live.schema_registry_config())
            wanted = {turn.event_id for turn in turns}
            seen: set[str] = set()
            total = 0
            for message in read_topic(live, live.topics.turns):
                total += 1
                turn = codec.decode(message.value() or b"", ConversationTurn, live.topics.turns)
                if turn.event_id in wanted:
                    seen.add(turn.event_id)
    table = Table(title=f"memlane run: {conversation}")
    for column in ("published", "delivered", "failed", "read back (this conversation)", "messages in topic"):
        table.add_column(column)
    table.add_row(str(summary.sent), str(summary.delivered), str(summary.failed), str(len(seen)), str(total))
    console.print(table)
    if summary.failed or len(seen) != len(wanted):
        raise typer.Exit(EXIT_ERROR)
