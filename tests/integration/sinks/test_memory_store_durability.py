"""A killed sink loses nothing: what `upsert` returned for survives SIGKILL of the embedded engine.

A child process writes memories into an edge shard and kills itself with SIGKILL (no close, no
flush from the caller); the parent reopens the shard and finds every acknowledged memory.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from sinks.embeddings import shared_onnx_embedder
from sinks.memory_store import EdgeMemoryStore, SearchFilters
from sinks.sink_settings import SinkSettings

REPO_ROOT = Path(__file__).resolve().parents[3]

CHILD = textwrap.dedent(
    """
    import os, signal, sys, uuid
    from datetime import UTC, datetime
    from pathlib import Path
    from sinks.embeddings import shared_onnx_embedder
    from sinks.memory_store import EdgeMemoryStore
    from sinks.sink_settings import SinkSettings
    from schemas.events import Lineage, Memory, MemoryBatch, MemoryKind

    facts = ["loves sushi", "plays the cello", "works at a bakery", "has a dog named Rex", "lives in Lisbon",
             "runs marathons", "is allergic to peanuts", "studies Japanese", "drives a red van", "grows tomatoes",
             "was born in Porto", "collects stamps", "hates flying", "builds robots", "reads crime novels",
             "paints watercolours", "has two sisters", "speaks Greek", "fixes old radios", "bakes sourdough"]
    store = EdgeMemoryStore(Path(sys.argv[1]), shared_onnx_embedder(), SinkSettings(edge_wal=sys.argv[2] == "wal"))
    for i in range(5):
        memories = tuple(
            Memory(memory_id=str(uuid.uuid4()), kind=MemoryKind.FACT, text="Ana " + facts[i * 4 + j],
                   confidence=0.9, event_time=datetime.now(UTC))
            for j in range(4)
        )
        batch = MemoryBatch(batch_id=str(uuid.uuid4()), request_id="r", conversation_id="c", tenant_id="acme",
                            user_id="ana", extractor="heuristic", extractor_version="1", memories=memories,
                            lineage=Lineage(source_topic="t", source_partition=0, source_offset=i,
                                            first_turn_index=0, last_turn_index=1))
        report = store.upsert(batch)
        print("acked", len(report.inserted), flush=True)
    os.kill(os.getpid(), signal.SIGKILL)
    """
)


@pytest.mark.parametrize("wal", ["no-wal", "wal"])
def test_acknowledged_memories_survive_sigkill(tmp_path: Path, wal: str) -> None:
    path = tmp_path / "shard"
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT), "HF_HUB_OFFLINE": "1"}
    child = subprocess.run(
        [sys.executable, "-c", CHILD, str(path), wal],
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert child.returncode == -signal.SIGKILL, child.stderr
    acked = sum(int(line.split()[1]) for line in child.stdout.splitlines() if line.startswith("acked"))
    assert acked == 20
    with EdgeMemoryStore(path, shared_onnx_embedder(), SinkSettings(edge_wal=wal == "wal")) as store:
        assert store.count("acme") == acked
        hits = store.search("acme", "what does Ana do", SearchFilters(user_id="ana"), limit=20)
        assert len(hits) == acked
