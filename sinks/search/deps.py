"""What every route of the search API depends on: the stores (opened once, on first use) and the tenant.

`Resources` holds the memory store and blob store of one app. Stores handed to `create_app` are used
as they are and left open for their owner; stores the app opens itself (from the settings) are
closed when the app shuts down. `current_tenant` turns the request's API key into a tenant id, or
answers 401 / 403 (see `tenancy.py`); routes declare it through the `Tenant` annotation, so their
OpenAPI entries list both key schemes.
"""

from __future__ import annotations

import threading
from typing import Annotated

from fastapi import Depends, HTTPException, Request, Security
from fastapi.security import APIKeyHeader, HTTPAuthorizationCredentials, HTTPBearer

from sinks.blobstore import BlobStore
from sinks.memory_store import MemoryStore, open_memory_store
from streams.settings import Settings

from .tenancy import API_KEY_HEADER, ApiKeys, AuthError


class Resources:
    """The stores behind one app: given ones as they are, missing ones opened lazily from `settings`."""

    def __init__(self, settings: Settings, store: MemoryStore | None = None, blobs: BlobStore | None = None) -> None:
        self.settings = settings
        self._store = store
        self._blobs = blobs
        self._owned: list[MemoryStore | BlobStore] = []
        self._lock = threading.Lock()

    def store(self) -> MemoryStore:
        if self._store is None:
            with self._lock:
                if self._store is None:
                    self._store = open_memory_store(self.settings)
                    self._owned.append(self._store)
        return self._store

    def blobs(self) -> BlobStore:
        if self._blobs is None:
            with self._lock:
                if self._blobs is None:
                    self._blobs = BlobStore(self.settings.blob_dir)
                    self._owned.append(self._blobs)
        return self._blobs

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

__all__ = ["Resources", "Stores", "Tenant", "current_tenant", "get_resources"]
