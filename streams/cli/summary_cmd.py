"""`memlane summary CONVERSATION`: the latest summary at each level of one conversation, or a compaction.

The local counterpart of `GET /v1/summaries/{id}` (`sinks.search.summaries_api.latest_summaries`): read tenant
`--tenant` (default `MEMLANE_TENANT_ID`) of the local memory store and print the latest level-1 (a window),
level-2 (ten turns) and level-3 (compaction) summaries with their range, model and version. `--compact`
publishes a level-3 request built from the stored summaries (like `POST /v1/summaries/{id}:compact`) for the
summarise worker. Exit codes: 0, 1 failure, 3 nothing found.
"""

from __future__ import annotations

import typer
from rich.table import Table

from sinks.search.summaries_api import SummariesResponse, latest_summaries, plan_compaction
from streams.cli.context import console, err_console, get_settings, reported_errors
from streams.wiring.stores import reading_store, request_publisher

EXIT_NOT_FOUND = 3


def render(response: SummariesResponse) -> Table:
    counts = ", ".join(f"level {level}: {count}" for level, count in response.counts.items())
    table = Table(title=f"summaries of {response.conversation_id}", caption=f"stored: {counts}")
    for column in ("level", "turns", "model", "version", "summary"):
        table.add_column(column, justify="left" if column == "summary" else "right")
    for item in response.summaries:
        table.add_row(
            str(item.level),
            f"{item.first_turn_index}..{item.last_turn_index}",
            item.model or item.extractor,
            str(item.version),
            item.text,
        )
    return table


def summary(
    ctx: typer.Context,
    conversation: str = typer.Argument(..., help="The conversation id."),
    *,
    tenant: str = typer.Option(None, "--tenant", help="Tenant (default MEMLANE_TENANT_ID)."),
    compact: bool = typer.Option(False, "--compact", help="Publish a level-3 compaction request instead."),
    user: str = typer.Option(None, "--user", help="With --compact: whose compaction it is (default: its first)."),
    as_json: bool = typer.Option(False, "--json", help="Print the response as JSON."),
) -> None:
    """The latest summary at each level of a conversation (`--compact`: ask for a new level-3 one)."""
    settings = get_settings(ctx)
    who = tenant or settings.tenant_id
    with reported_errors():
        with err_console.status("opening the memory store"), reading_store(settings) as store:
            if compact:
                request = plan_compaction(store, who, conversation, user_id=user)
            else:
                response = latest_summaries(store, who, conversation)
        if compact:
            if request is None:
                err_console.print(f"no summary of {conversation!r} to compact")
                raise typer.Exit(EXIT_NOT_FOUND)
            publisher = request_publisher(settings)
            try:
                publisher.publish(request)
            finally:
                publisher.close()
            fields = {
                "request_id": request.request_id,
                "conversation_id": conversation,
                "first_turn_index": request.first_turn_index,
                "last_turn_index": request.last_turn_index,
                "inputs": len(request.turns),
            }
            if as_json:
                console.print_json(data=fields)
            else:
                console.print(
                    f"compaction {request.request_id} of turns {request.first_turn_index}..{request.last_turn_index} "
                    f"({len(request.turns)} summaries) published"
                )
            return
    if as_json:
        console.print_json(response.model_dump_json())
    else:
        console.print(render(response))
    if not response.summaries:
        raise typer.Exit(EXIT_NOT_FOUND)


__all__ = ["summary"]
