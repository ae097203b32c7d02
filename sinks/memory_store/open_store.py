"""Open a memory store by URL: the backend is chosen by its scheme (in the spirit of faust's `by_url`).

    edge:///var/lib/memlane/qdrant/memories   an embedded qdrant-edge shard in that directory (the default)
    http://qdrant:6333, https://...            a Qdrant server through qdrant-client

    store = open_memory_store("edge:///tmp/memories", embedder, SinkSettings())
    store.search("acme", "where is Alice travelling?", SearchFilters(user_id="alice"))

The composition root derives the URL from `MEMLANE_QDRANT_URL` (a server) or the state directory.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from schemas.errors import ConfigError
from sinks.embeddings import Embedder
from sinks.sink_settings import SinkSettings

from .edge import EdgeMemoryStore
from .memory_store import MemoryStore
from .qdrant_server import ClientMemoryStore

EDGE_SCHEME = "edge://"


def edge_url(path: Path) -> str:
    """The URL of the embedded shard in `path`."""
    return EDGE_SCHEME + str(path.resolve())


def _edge(url: str, embedder: Embedder, settings: SinkSettings, _api_key: str | None) -> MemoryStore:
    path = url[len(EDGE_SCHEME) :]
    if not path:
        raise ConfigError(f"memory store URL {url!r} names no directory (edge:///path/to/shard)")
    return EdgeMemoryStore(Path(path), embedder, settings)


def _server(url: str, embedder: Embedder, settings: SinkSettings, api_key: str | None) -> MemoryStore:
    return ClientMemoryStore.connect(url, embedder, settings, api_key=api_key)


BACKENDS: dict[str, Callable[[str, Embedder, SinkSettings, str | None], MemoryStore]] = {
    "edge": _edge,
    "http": _server,
    "https": _server,
}


def open_memory_store(
    url: str, embedder: Embedder, settings: SinkSettings | None = None, *, api_key: str | None = None
) -> MemoryStore:
    """The memory store `url` names, embedding with `embedder`."""
    scheme = url.split("://", 1)[0].lower() if "://" in url else ""
    backend = BACKENDS.get(scheme)
    if backend is None:
        raise ConfigError(f"memory store URL {url!r}: unknown scheme {scheme!r} (use {', '.join(sorted(BACKENDS))})")
    return backend(url, embedder, settings or SinkSettings(), api_key)


__all__ = ["BACKENDS", "EDGE_SCHEME", "edge_url", "open_memory_store"]
