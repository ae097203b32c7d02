"""The `memlane` command line: one typer app whose command groups live in sibling modules."""

from __future__ import annotations

import typer

from streams.cli import (
    bench_cmd,
    broker_cmd,
    context_cmd,
    deploy_cmd,
    dlq_cmd,
    import_cmd,
    lag_cmd,
    publish_cmd,
    registry_cmd,
    replay_cmd,
    run_cmd,
    search_cmd,
    serve_cmd,
    settings_cmd,
    summary_cmd,
    topics_cmd,
    up_cmd,
    usage_cmd,
    verify_cmd,
    worker_cmd,
)
from streams.cli.context import settings_from_context

app = typer.Typer(
    name="memlane",
    help="memlane: chat turns in, long-term memories out, over Apache Kafka.",
    no_args_is_help=True,
    pretty_exceptions_show_locals=False,
)
app.add_typer(broker_cmd.app, name="broker")
app.add_typer(registry_cmd.app, name="registry")
app.add_typer(topics_cmd.app, name="topics")
app.add_typer(worker_cmd.app, name="worker")
app.add_typer(dlq_cmd.app, name="dlq")
app.add_typer(replay_cmd.app, name="replay")
app.add_typer(deploy_cmd.app, name="deploy")
app.command("publish")(publish_cmd.publish)
app.command("import")(import_cmd.import_memories)
app.command("bench")(bench_cmd.bench)
app.command("run")(run_cmd.run)
app.command("search")(search_cmd.search)
app.command("context")(context_cmd.context)
app.command("summary")(summary_cmd.summary)
app.command("serve")(serve_cmd.serve)
app.command("verify")(verify_cmd.verify_cmd)
app.command("lag")(lag_cmd.lag)
app.command("usage")(usage_cmd.usage)
app.command("up")(up_cmd.up_cmd)
app.command("down")(up_cmd.down_cmd)
app.command("status")(up_cmd.status_cmd)
app.command("demo")(up_cmd.demo_cmd)
app.command("settings")(settings_cmd.settings_cmd)


@app.callback()
def _root(ctx: typer.Context) -> None:
    """Read settings once (environment `MEMLANE_*`) and configure logging."""
    ctx.obj = settings_from_context(ctx)


def main() -> None:
    app()


__all__ = ["app", "main"]
