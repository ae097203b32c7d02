"""A full disk is backpressure, not a broken shard: under `edge_min_free_mb` free, writes push back
(`SinkBackpressureError` with `retry_after`) before the engine touches a file, and go on once space is back."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from schemas.errors import SinkBackpressureError
from schemas.events import Lineage, Memory, MemoryBatch, MemoryKind
from sinks.embeddings import shared_onnx_embedder
from sinks.memory_store import EdgeMemoryStore
from sinks.sink_settings import SinkSettings


def batch(n: int) -> MemoryBatch:
    memory = Memory(
        memory_id=f"mem-{n}",
        kind=MemoryKind.FACT,
        text=f"Ana keeps {n} bonsai trees",
        confidence=0.9,
        event_time=datetime(2025, 1, 1, tzinfo=UTC),
    )
    return MemoryBatch(
        batch_id=f"b-{n}",
        request_id=f"r-{n}",
        conversation_id="c",
        tenant_id="acme",
        user_id="ana",
        extractor="heuristic",
        extractor_version="1",
        memories=(memory,),
        lineage=Lineage(source_topic="t", source_partition=0, source_offset=n, first_turn_index=0, last_turn_index=0),
    )


def test_writes_wait_while_the_filesystem_is_under_the_reserve(tmp_path: Path) -> None:
    settings = SinkSettings(edge_min_free_mb=10**12, edge_disk_retry_s=3.5)  # more than any disk has free
    with EdgeMemoryStore(tmp_path / "shard", shared_onnx_embedder(), settings) as store:
        with pytest.raises(SinkBackpressureError, match="EDGE_MIN_FREE_MB") as pushed:
            store.upsert(batch(1))
        assert pushed.value.retry_after == 3.5
        assert store.count("acme") == 0, "nothing reached the engine"
        store.settings.edge_min_free_mb = 1.0  # space is back
        assert store.upsert(batch(1)).inserted == ["mem-1"]
        assert store.count("acme") == 1


def test_a_zero_reserve_turns_the_check_off(tmp_path: Path) -> None:
    with EdgeMemoryStore(tmp_path / "shard", shared_onnx_embedder(), SinkSettings(edge_min_free_mb=0)) as store:
        assert store.upsert(batch(2)).inserted == ["mem-2"]
