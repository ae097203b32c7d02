"""`memlane search "QUERY"`: search memories and print them as a table (or JSON with `--json`).

Without `--url` it searches tenant `--tenant` (default `MEMLANE_TENANT_ID`) of the local memory store:
through the running `memlane serve` that owns the embedded shard (with the key `MEMLANE_API_KEYS` has for
that tenant), else in the shard itself (a snapshot of it while a sink worker owns it), or in the server
at `MEMLANE_QDRANT_URL`. With `--url` it
asks a running `memlane serve` instead; the API key (`--api-key` or `MEMLANE_SEARCH_API_KEY`)
decides the tenant there. Exit codes: 0 (even with no hits), 1 search failed, 2 invalid options.
"""

from __future__ import annotations

import json
import os

import typer
from pydantic import ValidationError as PydanticValidationError
from rich.table import Table

from schemas.events import MemoryKind
from sinks.memory_store import SearchMode
from sinks.search import SearchClient, SearchRequest, SearchResponse, search_memories
from streams.cli.context import EXIT_INVALID_INPUT, console, err_console, get_settings, reported_errors
from streams.settings import Settings
from streams.wiring import shard_owner
from streams.wiring.stores import embedded_shard, reading_store


def _request(query: str, **fields: object) -> SearchRequest:
    try:
        return SearchRequest.model_validate({"query": query, **{k: v for k, v in fields.items() if v is not None}})
    except PydanticValidationError as exc:
        for error in exc.errors():
            where = ".".join(str(part) for part in error["loc"]) or "query"
            err_console.print(f"[red]invalid search:[/red] {where}: {error['msg']}")
        raise typer.Exit(EXIT_INVALID_INPUT) from exc


def _local(settings: Settings, tenant: str, request: SearchRequest) -> SearchResponse:
    """Ask the running `memlane serve` that owns the embedded store, else open it (or a snapshot of it)."""
    owner = None if settings.qdrant_url else shard_owner.current_owner(embedded_shard(settings))
    if owner is not None and owner.url and owner.pid != os.getpid():
        key = next((k for k, t in settings.api_keys.items() if t == tenant), None)
        if key is None:
            err_console.print(
                f"[red]memlane serve (pid {owner.pid}) owns the memory store at {owner.url}:[/red] "
                f"no key of MEMLANE_API_KEYS is for tenant {tenant}; search it with --url and --api-key"
            )
            raise typer.Exit(EXIT_INVALID_INPUT)
        err_console.print(f"asking the running memlane serve at {owner.url} (pid {owner.pid})")
        return _remote(owner.url, key, request)
    if owner is not None and owner.pid != os.getpid():
        err_console.print(f"the memory store is owned by pid {owner.pid} ({owner.component}): searching a snapshot")
    with err_console.status("opening the memory store and embedder"), reading_store(settings) as store:
        return search_memories(store, tenant, request)


def _remote(url: str, api_key: str | None, request: SearchRequest) -> SearchResponse:
    if not api_key:
        err_console.print("[red]--url needs an API key:[/red] pass --api-key or set MEMLANE_SEARCH_API_KEY")
        raise typer.Exit(EXIT_INVALID_INPUT)
    with SearchClient(url, api_key) as client:
        return client.search(request)


def render(response: SearchResponse, title: str) -> Table:
    """The hits as a rich table, best first."""
    table = Table(title=title, caption=f"{response.count} hit(s), {response.mode.value}, {response.took_ms:.1f} ms")
    for column in ("#", "score", "kind", "user", "when", "memory", "tags"):
        table.add_column(column, justify="right" if column in ("#", "score") else "left")
    table.add_column("id", overflow="fold", max_width=12)
    for rank, hit in enumerate(response.hits, start=1):
        memory = hit.memory
        table.add_row(
            str(rank),
            f"{hit.score:.3f}",
            memory.kind.value,
            memory.user_id,
            memory.event_time.strftime("%Y-%m-%d %H:%M"),
            memory.text,
            ", ".join(memory.tags) + (f" ({memory.labels_model})" if memory.labels_model else ""),
            memory.memory_id[:12],
        )
    return table


def search(
    ctx: typer.Context,
    query: str = typer.Argument(..., help="What to look for, in plain words."),
    *,
    user: str = typer.Option(None, "--user", help="Only this user's memories."),
    agent: str = typer.Option(None, "--agent", help="Only memories written for this agent."),
    conversation: str = typer.Option(None, "--conversation", help="Only memories of this conversation."),
    kind: list[MemoryKind] = typer.Option(None, "--kind", help="Only these kinds (repeatable)."),
    tag: list[str] = typer.Option(None, "--tag", help="Only memories with one of these tags (repeatable)."),
    limit: int = typer.Option(10, "--limit", "-n", help="How many hits (1-100)."),
    mode: SearchMode = typer.Option(SearchMode.HYBRID, "--mode", help="hybrid (dense + BM25), dense, multivector."),
    min_score: float = typer.Option(None, "--min-score", help="Minimum cosine similarity (dense ranking)."),
    tenant: str = typer.Option(None, "--tenant", help="Tenant of a local search (default MEMLANE_TENANT_ID)."),
    url: str | None = typer.Option(None, "--url", help="A running `memlane serve` (default MEMLANE_SEARCH_URL)."),
    api_key: str | None = typer.Option(None, "--api-key", help="API key for --url (default MEMLANE_SEARCH_API_KEY)."),
    as_json: bool = typer.Option(False, "--json", help="Print the response as JSON instead of a table."),
) -> None:
    """Search long-term memories (semantic, filtered) and print the best hits."""
    settings = get_settings(ctx)
    request = _request(
        query,
        user_id=user,
        agent_id=agent,
        conversation_id=conversation,
        kinds=kind or None,
        tags=tag or None,
        limit=limit,
        mode=mode,
        min_score=min_score,
    )
    url = url or settings.search_url
    if api_key is None and settings.search_api_key is not None:
        api_key = settings.search_api_key.get_secret_value()
    if url and tenant:
        err_console.print(
            "[red]--tenant applies to a local search:[/red] with --url the service searches the tenant of the API key"
        )
        raise typer.Exit(EXIT_INVALID_INPUT)
    with reported_errors():
        if url:
            response, where = _remote(url, api_key, request), url
        else:
            scope = tenant or settings.tenant_id
            response, where = _local(settings, scope, request), f"tenant {scope}"
    if as_json:
        console.print_json(json.dumps(response.model_dump(mode="json")))
        return
    console.print(render(response, f"memories for {query!r} ({where})"))


__all__ = ["render", "search"]
