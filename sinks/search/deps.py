"""What every route of the search API depends on: the stores (opened once, on first use) and the tenant.

`SearchServiceConfig` is what the service is given: the API keys and how to open each store. `Resources`
holds the memory store and blob store of one app. Stores handed to `create_app` are used as they are and
left open for their owner; stores the app opens itself (through the config's openers) are closed when
the app shuts down. `current_tenant` turns the request's API key into a tenant id, or
answers 401 / 403 (see `tenancy.py`); routes declare it through the `Tenant` annotation, so their
OpenAPI entries list both key schemes.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Annotated, Protocol

from fastapi import Depends, HTTPException, Request, Security
from fastapi.security import APIKeyHeader, HTTPAuthorizationCredentials, HTTPBearer

from schemas.errors import ConfigError
from schemas.events import ExtractionRequest
from schemas.memory_input import MemoryInput
from schemas.ranking import Ranking
from sinks.blobstore import BlobStore
from sinks.memory_store import MemoryStore

from .tenancy import API_KEY_HEADER, ApiKeys, AuthError


class MemoryPublisher(Protocol):
    """Publishes written memories to the memories topic (`streams.ingest.memory_writer.MemoryWriter`)."""

    def write(self, tenant_id: str, inputs: Sequence[MemoryInput]) -> list[str]: ...

    def close(self) -> None: ...


class ContextRanker(Protocol):
    """Orders search candidates' texts for a query (`processors.offload.rerank.OllamaReranker`)."""

    def rank(self, query: str, texts: Sequence[str], *, tenant_id: str = "-") -> Ranking: ...

    def close(self) -> None: ...


class CompactionPublisher(Protocol):
    """Publishes level-3 summary requests (`sinks.search.summaries_api`) to the requests topic."""

    def publish(self, request: ExtractionRequest) -> None: ...

    def close(self) -> None: ...


@dataclass(frozen=True)
class SearchServiceConfig:
    """The search service's own configuration: API keys -> tenants, and how to open the stores it serves."""

    api_keys: Mapping[str, str] = field(default_factory=dict, repr=False)
    max_body_bytes: int = 65_536
    """Largest request body read (413 above it; bodies of callers without a key are never read)."""
    open_store: Callable[[], MemoryStore] | None = field(default=None, repr=False)
    open_blobs: Callable[[], BlobStore] | None = field(default=None, repr=False)
    open_writer: Callable[[], MemoryPublisher] | None = field(default=None, repr=False)
    """How the write API publishes memories (`POST /v1/memories`); without it those routes answer 503."""
    write_max_batch: int = 100
    """Most memories one `POST /v1/memories:batch` may carry."""
    open_ranker: Callable[[], ContextRanker] | None = field(default=None, repr=False)
    """The local model that re-ranks `POST /v1/context` candidates; without it that route answers 503."""
    context_candidates: int = 20
    context_top_n: int = 3
    open_compactor: Callable[[], CompactionPublisher] | None = field(default=None, repr=False)
    """How `POST /v1/summaries/{id}:compact` publishes its request; without it that route answers 503."""


class Resources:
    """The stores behind one app: given ones as they are, missing ones opened lazily through `config`."""

    def __init__(
        self, config: SearchServiceConfig, store: MemoryStore | None = None, blobs: BlobStore | None = None
    ) -> None:
        self.config = config
        self._store = store
        self._blobs = blobs
        self._writer: MemoryPublisher | None = None
        self._ranker: ContextRanker | None = None
        self._compactor: CompactionPublisher | None = None
        self._owned: list[MemoryStore | BlobStore | MemoryPublisher | ContextRanker | CompactionPublisher] = []
        self._lock = threading.Lock()

    def store(self) -> MemoryStore:
        with self._lock:
            if self._store is None:
                if self.config.open_store is None:
                    raise ConfigError("the search service was given no memory store and no way to open one")
                self._store = self.config.open_store()
                self._owned.append(self._store)
            return self._store

    def blobs(self) -> BlobStore:
        with self._lock:
            if self._blobs is None:
                if self.config.open_blobs is None:
                    raise ConfigError("the search service was given no blob store and no way to open one")
                self._blobs = self.config.open_blobs()
                self._owned.append(self._blobs)
            return self._blobs

    def writer(self) -> MemoryPublisher:
        with self._lock:
            if self._writer is None:
                if self.config.open_writer is None:
                    raise ConfigError("the search service was given no way to publish memories")
                self._writer = self.config.open_writer()
                self._owned.append(self._writer)
            return self._writer

    def ranker(self) -> ContextRanker:
        with self._lock:
            if self._ranker is None:
                if self.config.open_ranker is None:
                    raise ConfigError("the search service was given no local model to re-rank with")
                self._ranker = self.config.open_ranker()
                self._owned.append(self._ranker)
            return self._ranker

    def compactor(self) -> CompactionPublisher:
        with self._lock:
            if self._compactor is None:
                if self.config.open_compactor is None:
                    raise ConfigError("the search service was given no way to publish summary requests")
                self._compactor = self.config.open_compactor()
                self._owned.append(self._compactor)
            return self._compactor

    def close(self) -> None:
        """Close the stores this object opened (never the ones it was given)."""
        with self._lock:
            owned, self._owned = self._owned, []
            for resource in owned:
                resource.close()
                if resource is self._store:
                    self._store = None
                if resource is self._blobs:
                    self._blobs = None
                if resource is self._writer:
                    self._writer = None
                if resource is self._ranker:
                    self._ranker = None
                if resource is self._compactor:
                    self._compactor = None


def get_resources(request: Request) -> Resources:
    resources: Resources = request.app.state.resources
    return resources


_bearer = HTTPBearer(auto_error=False, description="`Authorization: Bearer <API key>`")
_api_key = APIKeyHeader(name=API_KEY_HEADER, auto_error=False, description="the API key itself")


def current_tenant(
    request: Request,
    _bearer_credentials: HTTPAuthorizationCredentials | None = Security(_bearer),
    _header_key: str | None = Security(_api_key),
) -> str:
    """The tenant of the request's API key (read from the raw headers, for precise error messages)."""
    keys: ApiKeys = request.app.state.api_keys
    try:
        return keys.resolve(request.headers.get("authorization"), request.headers.get(API_KEY_HEADER))
    except AuthError as exc:
        headers = {"WWW-Authenticate": "Bearer"} if exc.status == 401 else None
        raise HTTPException(exc.status, exc.message, headers=headers) from exc


Tenant = Annotated[str, Depends(current_tenant)]
Stores = Annotated[Resources, Depends(get_resources)]

__all__ = [
    "ContextRanker",
    "MemoryPublisher",
    "Resources",
    "SearchServiceConfig",
    "Stores",
    "Tenant",
    "current_tenant",
    "get_resources",
]
