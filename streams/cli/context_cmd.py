"""`memlane context "QUERY"`: the few memories worth a paid model's tokens, re-ranked by the local model.

The local counterpart of `POST /v1/context` (`sinks.search.context_api.build_context`): search tenant
`--tenant` (default `MEMLANE_TENANT_ID`) of the local memory store for `--candidates` hits, let the local model
(`MEMLANE_OFFLOAD__RERANK_MODEL` on `MEMLANE_OLLAMA_URL`) re-rank them, print the best `--top-n` with their
scores and tokens, and the context text. Without a usable local model the search order is printed and the
reason said. Exit codes: 0 (also when it fell back), 1 failure, 2 invalid options.
"""

from __future__ import annotations

import typer
from pydantic import ValidationError as PydanticValidationError
from rich.table import Table

from sinks.search.context_api import ContextRequest, ContextResponse, build_context
from streams.cli.context import EXIT_INVALID_INPUT, console, err_console, get_settings, reported_errors
from streams.wiring.offload import context_ranker
from streams.wiring.stores import reading_store


def render(response: ContextResponse) -> Table:
    how = f"re-ranked by {response.model}" if response.reranked else f"search order ({response.reason})"
    table = Table(
        title=f"context for {response.query!r}: {how}",
        caption=f"{response.tokens} tokens of {response.candidate_tokens} for all {response.candidates} candidates "
        f"({response.tokens_saved_ratio:.0%} fewer), re-rank {response.rerank_ms:.0f} ms",
    )
    for column in ("#", "search #", "score", "relevance", "tokens", "memory"):
        table.add_column(column, justify="left" if column == "memory" else "right")
    for memory in response.memories:
        relevance = "-" if memory.relevance is None else f"{memory.relevance:.2f}"
        table.add_row(
            str(memory.rank),
            str(memory.search_rank),
            f"{memory.search_score:.3f}",
            relevance,
            str(memory.tokens),
            memory.memory.text,
        )
    return table


def context(
    ctx: typer.Context,
    query: str = typer.Argument(..., help="The question a paid model will answer."),
    *,
    user: str = typer.Option(None, "--user", help="Only this user's memories."),
    conversation: str = typer.Option(None, "--conversation", help="Only memories of this conversation."),
    candidates: int = typer.Option(None, "--candidates", help="Search hits to re-rank (default 20)."),
    top_n: int = typer.Option(None, "--top-n", "-n", help="Memories to keep (default 3)."),
    tenant: str = typer.Option(None, "--tenant", help="Tenant (default MEMLANE_TENANT_ID)."),
    as_json: bool = typer.Option(False, "--json", help="Print the response as JSON."),
) -> None:
    """Search, re-rank with the local model, and print the best few memories ready for a paid model."""
    settings = get_settings(ctx)
    fields = {"user_id": user, "conversation_id": conversation, "candidates": candidates, "top_n": top_n}
    try:
        request = ContextRequest.model_validate({"query": query, **{k: v for k, v in fields.items() if v is not None}})
    except PydanticValidationError as exc:
        for error in exc.errors():
            err_console.print(f"[red]invalid request:[/red] {'.'.join(map(str, error['loc']))}: {error['msg']}")
        raise typer.Exit(EXIT_INVALID_INPUT) from exc
    offload = settings.offload
    with reported_errors():
        ranker = context_ranker(settings)
        try:
            with err_console.status("opening the memory store and embedder"), reading_store(settings) as store:
                response = build_context(
                    store,
                    ranker,
                    tenant or settings.tenant_id,
                    request,
                    candidates=offload.context_candidates,
                    top_n=offload.context_top_n,
                )
        finally:
            ranker.close()
    if as_json:
        console.print_json(response.model_dump_json())
        return
    console.print(render(response))
    console.print(response.context, highlight=False)


__all__ = ["context"]
