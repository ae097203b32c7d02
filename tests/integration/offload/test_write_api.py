"""The direct write API and `memlane import` on the real broker, stored by the real memory sink.

Memories posted to `/v1/memories[:batch]` are published to the memories topic (not written to the store):
only after the memory sink has consumed them can `/v1/search` find them, under the posting key's tenant and
no other. Bad items are named by index, the valid ones of the same batch still written; a batch over the
limit writes nothing. Importing a Mem0 export of the same memories adds no point (same ids), and its bad
lines are named.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

from fastapi.testclient import TestClient
from typer.testing import CliRunner

from processors.extraction.memory_ids import memory_id
from schemas.codec import SingleObjectCodec
from schemas.events import MemoryBatch
from sinks.embeddings import shared_onnx_embedder
from sinks.memory_store import EdgeMemoryStore
from streams.cli import app as cli
from streams.kafka.consumer import read_topic
from streams.settings import Settings
from streams.wiring.stores import search_app
from streams.wiring.workers import run_sink_qdrant

ACME = {"Authorization": "Bearer k-acme"}
GLOBEX = {"Authorization": "Bearer k-globex"}
FACTS = [
    {"text": "Ana is allergic to shellfish", "user_id": "ana", "tags": ["health"]},
    {"text": "Ana moved to Lisbon in May 2024", "user_id": "ana", "event_time": "2024-05-02T10:00:00Z"},
    {"text": "", "user_id": "ana"},
    {"text": "Bruno repairs vintage motorcycles", "user_id": "bruno", "kind": "fact"},
    {"text": "Bruno plays chess on Sundays", "user_id": "bruno", "kind": "opinion"},
    {"text": "Bruno prefers green tea", "user_id": "bruno", "agent_id": "helper"},
    {"text": "no owner"},
    "not an object",
]


def configured(kafka_settings: Settings, tmp_path: Path) -> Settings:
    sinks = kafka_settings.sinks.model_copy(update={"qdrant_path": tmp_path / "qdrant"})
    offload = kafka_settings.offload.model_copy(update={"write_max_batch": 8})
    return kafka_settings.model_copy(
        update={"sinks": sinks, "offload": offload, "api_keys": {"k-acme": "acme", "k-globex": "globex"}}
    )


def stored_batches(settings: Settings) -> list[MemoryBatch]:
    codec = SingleObjectCodec()
    return [codec.decode(m.value() or b"", MemoryBatch) for m in read_topic(settings.kafka, settings.topics.memories)]


def search(settings: Settings, headers: dict[str, str], query: str, user: str) -> list[str]:
    with (
        EdgeMemoryStore(settings.sinks.qdrant_path / settings.sinks.collection, shared_onnx_embedder()) as store,
        TestClient(search_app(settings, store=store)) as client,
    ):
        answer = client.post("/v1/search", json={"query": query, "user_id": user, "limit": 5}, headers=headers)
        assert answer.status_code == 200, answer.text
        return [hit["memory"]["text"] for hit in answer.json()["hits"]]


def test_written_memories_reach_the_store_through_the_topic_under_their_tenant_only(
    kafka_settings: Settings, tmp_path: Path, new_group_id: Callable[[str], str]
) -> None:
    settings = configured(kafka_settings, tmp_path)
    with TestClient(search_app(settings)) as client:
        batch = client.post("/v1/memories:batch", json={"memories": FACTS}, headers=ACME)
        assert batch.status_code == 202, batch.text
        body = batch.json()
        assert body["accepted"] == 4 and body["rejected"] == 4
        assert [e["index"] for e in body["errors"]] == [2, 4, 6, 7]
        assert "text" in body["errors"][0]["message"] and "kind" in body["errors"][1]["message"]
        assert "user_id" in body["errors"][2]["message"]
        assert [m["index"] for m in body["memories"]] == [0, 1, 3, 5]
        assert body["memories"][0]["memory_id"] == memory_id("acme", "ana", "fact", FACTS[0]["text"])

        one = client.post("/v1/memories", json={"text": "Greta keeps bonsai trees", "user_id": "greta"}, headers=ACME)
        assert one.status_code == 202 and one.json()["accepted"] == 1
        too_many = client.post("/v1/memories:batch", json={"memories": [FACTS[0]] * 9}, headers=ACME)
        assert too_many.status_code == 422 and "at most 8" in too_many.json()["message"]
        all_bad = client.post("/v1/memories:batch", json={"memories": [FACTS[2]]}, headers=ACME)
        assert all_bad.status_code == 422 and "[0]" in all_bad.json()["message"]
        assert client.post("/v1/memories", json=FACTS[0]).status_code == 401

    batches = stored_batches(settings)
    assert {b.extractor for b in batches} == {"api"} and {b.tenant_id for b in batches} == {"acme"}
    assert sum(len(b.memories) for b in batches) == 5, "nothing of the refused batches was published"
    assert search(settings, ACME, "what is Ana allergic to", "ana") == [], "not in the store before the sink ran"

    counts = run_sink_qdrant(settings, idle_exit_s=1.5, group_id=new_group_id("sink"))
    assert counts.inserted == 5 and counts.quarantined == 0
    assert search(settings, ACME, "what is Ana allergic to", "ana")[0] == "Ana is allergic to shellfish"
    assert "Bruno repairs vintage motorcycles" in search(settings, ACME, "motorcycles", "bruno")
    assert search(settings, GLOBEX, "what is Ana allergic to", "ana") == [], "another tenant sees nothing"


def test_importing_a_mem0_export_twice_adds_nothing_and_names_bad_lines(
    kafka_settings: Settings, tmp_path: Path, new_group_id: Callable[[str], str]
) -> None:
    settings = configured(kafka_settings, tmp_path).model_copy(update={"tenant_id": "acme"})
    export = tmp_path / "mem0.jsonl"
    records = [
        {"id": "m1", "memory": "Ana is allergic to shellfish", "user_id": "ana", "categories": ["health"],
         "metadata": {"source": "chat"}, "created_at": "2024-05-01T09:00:00-07:00", "hash": "x"},
        {"id": "m2", "memory": "Ana moved to Lisbon in May 2024", "user_id": "ana"},
        {"id": "m3", "memory": "   ", "user_id": "ana"},
        {"id": "m4", "memory": "Hiro flies to Reykjavik every winter", "user_id": "hiro", "run_id": "trip-chat"},
    ]  # fmt: skip
    lines = [json.dumps(r) for r in records] + ["{not json"]
    export.write_text("\n".join(lines) + "\n", encoding="utf-8")

    first = CliRunner().invoke(cli, ["import", str(export), "--no-progress"], obj=settings)
    assert first.exit_code == 2, first.output
    assert "line 3" in first.output and "line 5" in first.output and "not JSON" in first.output
    counts = run_sink_qdrant(settings, idle_exit_s=1.5, group_id=new_group_id("sink"))
    assert counts.inserted == 3

    again = CliRunner().invoke(cli, ["import", str(export), "--no-progress"], obj=settings)
    assert again.exit_code == 2, again.output
    replay = run_sink_qdrant(settings, idle_exit_s=1.5, group_id=new_group_id("replay"))
    assert replay.inserted == 0 and replay.updated == 0 and replay.unchanged == 6, "a re-import changes nothing"

    batches = stored_batches(settings)
    assert {b.extractor for b in batches} == {"import"}
    ana = next(m for b in batches for m in b.memories if m.text.startswith("Ana is allergic"))
    assert ana.tags == ("health", "source=chat") and ana.event_time.isoformat() == "2024-05-01T16:00:00+00:00"
    assert {b.conversation_id for b in batches if b.user_id == "hiro"} == {"trip-chat"}
    with EdgeMemoryStore(settings.sinks.qdrant_path / settings.sinks.collection, shared_onnx_embedder()) as store:
        assert store.count("acme") == 3
    assert search(settings, ACME, "where does Hiro travel in winter", "hiro")[0].startswith("Hiro flies")
