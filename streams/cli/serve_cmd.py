"""`memlane serve`: run the memory search service (FastAPI on uvicorn) until Ctrl-C / SIGTERM.

It serves the configured stores: the memory store (embedded shard under `MEMLANE_SINKS__QDRANT_PATH`,
or the Qdrant server at `MEMLANE_QDRANT_URL`) and the blob store under `<state dir>/blobs`. On the
embedded store it owns the shard and runs the memory sink itself, so what the pipeline writes is
searchable live (see `streams.wiring.live_search`); it also exports consumer lag. API keys come from
`MEMLANE_API_KEYS` (JSON: key -> tenant); without any, every `/v1` request is refused. The OpenAPI spec
is at `/openapi.json`, its browser at `/docs`, metrics at `/metrics`.
"""

from __future__ import annotations

import typer

from streams.cli.context import err_console, get_settings, reported_errors
from streams.metrics import serve_metrics
from streams.wiring.live_search import LiveSearch


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
    if settings.qdrant_url is None:
        err_console.print("the embedded memory store is served live: this process runs the memory sink too")
    serve_metrics(settings.metrics_port)
    with reported_errors():
        LiveSearch(settings, host, port, log_level=log_level).run()


__all__ = ["serve"]
