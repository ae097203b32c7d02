"""The memory search service: a FastAPI app factory, `create_app(config, store=..., blobs=...)`.

    POST /v1/search              memories of the caller's tenant matching a query and filters
    POST /v1/context             the best few memories for a query, re-ranked by the local model
    POST /v1/memories[:batch]    write memories (published to the memories topic; see `write_api.py`)
    GET  /v1/memories/{id}       one memory with its lineage and version history
    GET  /v1/blobs/{sha256}      slices of the blob store by lines or bytes (see `blobs_api.py`)
    GET  /healthz                liveness (no key needed)
    GET  /metrics                Prometheus metrics (no key needed)
    GET  /openapi.json, /docs    the OpenAPI spec and its browser

Every `/v1` route needs an API key (see `tenancy.py`) and sees only its tenant's memories. Errors
are `ErrorOut` bodies: 400 bad range or request, 401 / 403 auth, 404 unknown memory or blob, 422
validation (with the failing fields), 500 / 503 server side. Handlers are sync functions, so
FastAPI runs them in its thread pool and the embedding of one query never blocks the event loop.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from http import HTTPStatus
from typing import Annotated, Any

from fastapi import FastAPI, HTTPException, Path, Request, Response
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, Counter, Histogram, generate_latest
from starlette.exceptions import HTTPException as StarletteHTTPException

from schemas.errors import MemlaneError, SearchError
from sinks.blobstore import BlobStore
from sinks.memory_store import MemoryStore

from . import blobs_api, context_api, summaries_api, write_api
from .api_models import ErrorOut, MemoryDetail, SearchRequest, SearchResponse
from .body_limit import BodyLimitMiddleware
from .deps import Resources, SearchServiceConfig, Stores, Tenant
from .docs_page import install_docs
from .tenancy import ApiKeys

HTTP_REQUESTS = Counter(
    "memlane_search_http_requests_total", "Requests answered by the search service", ["route", "method", "status"]
)
HTTP_SECONDS = Histogram(
    "memlane_search_http_request_duration_seconds",
    "Time to answer one search-service request",
    ["route"],
    buckets=(0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5),
)

_ERRORS: dict[int | str, dict[str, Any]] = {
    code: {"model": ErrorOut, "description": text}
    for code, text in (
        (400, "bad request"),
        (401, "no API key"),
        (403, "unknown API key"),
        (404, "no such memory for this tenant"),
        (422, "invalid body or parameter"),
    )
}


def search_memories(store: MemoryStore, tenant_id: str, request: SearchRequest) -> SearchResponse:
    """Run `request` in `tenant_id` (shared by the HTTP route and the local `memlane search`)."""
    started = time.perf_counter()
    hits = store.search(
        tenant_id,
        request.query,
        request.filters(),
        limit=request.limit,
        min_score=request.min_score,
        mode=request.mode,
        now=request.now,
    )
    return SearchResponse.of(request.mode, hits, (time.perf_counter() - started) * 1000.0)


def _error(status: int, message: str, errors: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    try:
        code = HTTPStatus(status).phrase.lower().replace(" ", "_").replace("-", "_")
    except ValueError:
        code = "error"
    if status == 422:
        code = "validation_error"
    return ErrorOut(error=code, message=message, errors=errors).model_dump(exclude_none=True)


def _field(loc: tuple[Any, ...] | list[Any]) -> str:
    return ".".join(str(part) for part in loc) or "request"


def _install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(StarletteHTTPException)
    async def http_error(_request: Request, exc: StarletteHTTPException) -> JSONResponse:
        return JSONResponse(_error(exc.status_code, str(exc.detail)), exc.status_code, headers=exc.headers)

    @app.exception_handler(RequestValidationError)
    async def validation_error(_request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = [
            {"field": _field(e.get("loc", ())), "message": e.get("msg", ""), "type": e.get("type", "")}
            for e in exc.errors()
        ]
        message = "; ".join(f"{e['field']}: {e['message']}" for e in errors) or "invalid request"
        return JSONResponse(jsonable_encoder(_error(422, message, errors)), 422)

    @app.exception_handler(MemlaneError)
    async def memlane_error(_request: Request, exc: MemlaneError) -> JSONResponse:
        status = 400 if isinstance(exc, SearchError) else 503
        return JSONResponse(_error(status, f"{type(exc).__name__}: {exc}"), status)


def _install_metrics(app: FastAPI) -> None:
    @app.middleware("http")
    async def observe(request: Request, call_next: Callable[[Request], Awaitable[Response]]) -> Response:
        started = time.perf_counter()
        response = await call_next(request)
        route = getattr(request.scope.get("route"), "path", "unmatched")
        HTTP_REQUESTS.labels(route=route, method=request.method, status=str(response.status_code)).inc()
        HTTP_SECONDS.labels(route=route).observe(time.perf_counter() - started)
        return response

    @app.get("/metrics", include_in_schema=False)
    def metrics() -> Response:
        return Response(generate_latest(REGISTRY), media_type=CONTENT_TYPE_LATEST)


def _install_routes(app: FastAPI) -> None:
    @app.get("/healthz", tags=["ops"], summary="Liveness and store readiness")
    def healthz(stores: Stores) -> dict[str, str]:
        store = stores.store()
        stores.blobs()
        return {"status": "ok", "store": type(store).__name__}

    @app.post("/v1/search", response_model=SearchResponse, responses=_ERRORS, tags=["memories"])
    def search(body: SearchRequest, tenant: Tenant, stores: Stores) -> SearchResponse:
        """Memories of the caller's tenant matching `query` and the filters, best first."""
        return search_memories(stores.store(), tenant, body)

    @app.get("/v1/memories/{memory_id}", response_model=MemoryDetail, responses=_ERRORS, tags=["memories"])
    def get_memory(
        memory_id: Annotated[str, Path(min_length=1, max_length=512)], tenant: Tenant, stores: Stores
    ) -> MemoryDetail:
        """One memory (or the memory it was merged into) with its lineage and version history."""
        record = stores.store().get(tenant, memory_id)
        if record is None:
            raise HTTPException(404, f"memory {memory_id!r} not found")
        return MemoryDetail.of(record)


def create_app(
    config: SearchServiceConfig, *, store: MemoryStore | None = None, blobs: BlobStore | None = None
) -> FastAPI:
    """The search API over `store` and `blobs` (opened through `config` on first use when not given)."""
    resources = Resources(config, store, blobs)

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        try:
            yield
        finally:
            resources.close()

    app = FastAPI(
        title="memlane memory search",
        version="1.0",
        description="Search long-term memories of LLM agents and fetch the raw windows they came from.",
        lifespan=lifespan,
        docs_url=None,
        redoc_url=None,
    )
    install_docs(app)
    app.state.resources = resources
    app.state.api_keys = ApiKeys(dict(config.api_keys))
    _install_error_handlers(app)
    _install_metrics(app)
    app.add_middleware(BodyLimitMiddleware, max_body_bytes=config.max_body_bytes)
    _install_routes(app)
    app.include_router(blobs_api.router)
    app.include_router(write_api.router)
    app.include_router(context_api.router)
    app.include_router(summaries_api.router)
    return app


__all__ = ["HTTP_REQUESTS", "HTTP_SECONDS", "create_app", "search_memories"]
