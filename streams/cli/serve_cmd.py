"""`memlane serve`: run the memory search service (FastAPI on uvicorn) until Ctrl-C / SIGTERM.

It serves the configured stores: the memory store (embedded shard under `MEMLANE_SINKS__QDRANT_PATH`,
or the Qdrant server at `MEMLANE_QDRANT_URL`) and the blob store under `<data_dir>/blobs`. API keys
come from `MEMLANE_API_KEYS` (JSON: key -> tenant); without any, every `/v1` request is refused.
The OpenAPI spec is at `/openapi.json`, its browser at `/docs`, metrics at `/metrics`.
"""

from __future__ import annotations

import typer

from sinks.search import serve as serve_app
from streams.cli.context import err_console, get_settings, reported_errors
from streams.wiring.stores import search_app


def serve(
    ctx: typer.Context,
    host: str = typer.Option("127.0.0.1", "--host", help="Interface to listen on."),
    port: int = typer.Option(8080, "--port", min=0, max=65535, help="TCP port (0: any free port)."),
    log_level: str = typer.Option("info", "--log-level", help="uvicorn log level."),
) -> None:
    """Serve memory search over HTTP: POST /v1/search, GET /v1/memories/{id}, GET /v1/blobs/{sha}."""
    settings = get_settings(ctx)
    if not settings.api_keys:
        err_console.print(
            '[yellow]warning:[/yellow] no API keys configured (MEMLANE_API_KEYS=\'{"key": "tenant"}\'): '
            "every /v1 request will be refused"
        )
    tenants = sorted(set(settings.api_keys.values()))
    err_console.print(f"memory search on http://{host}:{port} (docs at /docs) for tenants: {', '.join(tenants) or '-'}")
    with reported_errors():
        serve_app(search_app(settings), host, port, log_level=log_level)


__all__ = ["serve"]
