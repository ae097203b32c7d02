"""`memlane topics create|list`: provision the topic catalogue idempotently and show what exists."""

from __future__ import annotations

import typer
from confluent_kafka.admin import AdminClient
from rich.table import Table

from streams.cli.context import console, err_console, get_settings, reported_errors
from streams.kafka.provision import describe_topics, provision

app = typer.Typer(help="Create and list memlane's topics.", no_args_is_help=True)


@app.command()
def create(
    ctx: typer.Context,
    strict: bool = typer.Option(False, help="Exit 1 when an existing topic's settings differ."),
) -> None:
    """Create missing topics; compare existing ones with the catalogue. Running it twice changes nothing."""
    settings = get_settings(ctx)
    with reported_errors():
        report = provision(AdminClient(settings.kafka_config()), settings.topic_catalogue())
    for name in report.created:
        console.print(f"created   {name}")
    for name in report.unchanged:
        console.print(f"unchanged {name}")
    for name, found in report.differs.items():
        err_console.print(f"[yellow]differs[/yellow]   {name}")
        for line in found:
            err_console.print(f"          - {line}")
    if report.differs and strict:
        raise typer.Exit(1)


@app.command("list")
def list_topics(
    ctx: typer.Context,
    all_topics: bool = typer.Option(False, "--all", help="Include topics memlane does not own."),
) -> None:
    """List topics with partitions, replication, retention and cleanup policy."""
    settings = get_settings(ctx)
    catalogue = {spec.name: spec for spec in settings.topic_catalogue()}
    with reported_errors():
        states = describe_topics(AdminClient(settings.kafka_config()), None if all_topics else list(catalogue))
    table = Table(title="topics")
    for column in ("topic", "partitions", "replicas", "retention.ms", "cleanup", "min.isr", "purpose"):
        table.add_column(column)
    for name in sorted(set(states) | set(catalogue)):
        state = states.get(name)
        spec = catalogue.get(name)
        if state is None:
            table.add_row(name, "-", "-", "-", "-", "-", "missing: run `memlane topics create`")
            continue
        table.add_row(
            name,
            str(state.partitions),
            str(state.replication_factor),
            state.configs.get("retention.ms", "?"),
            state.configs.get("cleanup.policy", "?"),
            state.configs.get("min.insync.replicas", "?"),
            spec.purpose if spec else "",
        )
    console.print(table)
