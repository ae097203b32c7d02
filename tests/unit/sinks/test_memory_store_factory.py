"""Choosing and opening a memory store from settings; configuration errors; the report's arithmetic."""

from __future__ import annotations

from pathlib import Path

import pytest

from schemas.errors import ConfigError
from sinks.embeddings import Embedder, FloatMatrix, shared_onnx_embedder
from sinks.memory_store import ClientMemoryStore, EdgeMemoryStore, UpsertReport
from sinks.sink_settings import SinkSettings
from streams.settings import Settings
from streams.wiring.guarded_store import GuardedStore
from streams.wiring.stores import memory_store

pytestmark = pytest.mark.filterwarnings("ignore:Failed to obtain server version")


class TinyEmbedder(Embedder):
    """A 3-dim embedder, to provoke a dimension mismatch."""

    @property
    def dim(self) -> int:
        return 3

    @property
    def name(self) -> str:
        return "tiny"

    def _embed_batch(self, texts: object) -> FloatMatrix:
        raise AssertionError("not called")


def test_embedded_store_by_default(tmp_path: Path) -> None:
    settings = Settings(sinks=SinkSettings(qdrant_path=tmp_path / "q", collection="mem"), qdrant_url=None)
    with memory_store(settings, shared_onnx_embedder()) as store:
        assert isinstance(store, GuardedStore) and isinstance(store.inner, EdgeMemoryStore)
        assert store.path == (tmp_path / "q" / "mem").resolve()
        assert store.count() == 0
    assert (tmp_path / "q" / "mem" / "edge_config.json").exists()


def test_a_qdrant_url_selects_the_server_backend() -> None:
    settings = Settings(qdrant_url="http://127.0.0.1:1", sinks=SinkSettings(qdrant_timeout_s=2))
    with pytest.raises(ConfigError, match="qdrant setting up collection 'memories' failed"):
        memory_store(settings, shared_onnx_embedder())


def test_collection_with_other_dimensions_is_refused(tmp_path: Path) -> None:
    ClientMemoryStore.local(tmp_path / "c", shared_onnx_embedder()).close()
    with pytest.raises(ConfigError, match="384-dim text vectors"):
        ClientMemoryStore.local(tmp_path / "c", TinyEmbedder())


def test_edge_shard_with_other_dimensions_is_refused(tmp_path: Path) -> None:
    EdgeMemoryStore(tmp_path / "e", shared_onnx_embedder()).close()
    with pytest.raises(ConfigError, match="qdrant-edge opening"):
        EdgeMemoryStore(tmp_path / "e", TinyEmbedder())


def test_upsert_report_total() -> None:
    report = UpsertReport("b1", inserted=["a"], updated={"b": "a"}, unchanged=["c", "d"])
    assert report.total == 4


def test_engine_failures_during_upsert_are_sink_errors(tmp_path: Path) -> None:
    from datetime import UTC, datetime

    from schemas.errors import SinkError
    from schemas.events import Lineage, Memory, MemoryBatch, MemoryKind

    store = EdgeMemoryStore(tmp_path / "e", shared_onnx_embedder())
    store.close()
    memory = Memory(memory_id="m1", kind=MemoryKind.FACT, text="x", confidence=1.0, event_time=datetime.now(UTC))
    batch = MemoryBatch(
        batch_id="b1",
        request_id="r1",
        conversation_id="c1",
        tenant_id="acme",
        user_id="ana",
        extractor="heuristic",
        extractor_version="1",
        memories=(memory,),
        lineage=Lineage(source_topic="t", source_partition=0, source_offset=0, first_turn_index=0, last_turn_index=0),
    )
    with pytest.raises(SinkError, match="upsert of batch b1 failed"):
        store.upsert(batch)
