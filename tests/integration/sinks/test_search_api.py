"""The search API through `fastapi.testclient.TestClient`, over a real embedded shard and blob store on disk.

Tenancy (a tenant sees only its memories and blobs), every search mode and filter, memory detail with
history and lineage, byte-exact blob slices against the original loghub files (paging through whole
files), caps, bad ranges, path traversal, auth and validation errors, health, metrics and OpenAPI.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from schemas.events import Lineage, Memory, MemoryBatch, MemoryKind
from sinks.blobstore import MAX_SLICE_BYTES, BlobStore
from sinks.embeddings import shared_onnx_embedder
from sinks.memory_store import EdgeMemoryStore
from sinks.search import tenant_referrer
from streams.settings import Settings
from streams.wiring.stores import search_app

T0 = datetime(2025, 2, 3, 12, 0, tzinfo=UTC)
KEYS = {"k-acme": "acme", "k-globex": "globex", "k-initech": "initech"}
ACME = {"X-API-Key": "k-acme"}
GLOBEX = {"Authorization": "Bearer k-globex"}
INITECH = {"Authorization": "Bearer k-initech"}
LOGS = ("HDFS_2k.log", "Linux_2k.log", "Mac_2k.log")


def batch(tenant: str, user: str, *items: tuple[MemoryKind, str], window: str | None = None) -> MemoryBatch:
    memories = tuple(
        Memory(memory_id=str(uuid.uuid4()), kind=kind, text=text, confidence=0.9, event_time=T0 + timedelta(hours=n))
        for n, (kind, text) in enumerate(items)
    )
    lineage = Lineage(
        source_topic="memlane.extraction.requests.v1",
        source_partition=1,
        source_offset=42,
        first_turn_index=3,
        last_turn_index=7,
        window_blob=window,
    )
    return MemoryBatch(
        batch_id=str(uuid.uuid4()),
        request_id=f"req-{uuid.uuid4().hex[:8]}",
        conversation_id=f"conv-{user}",
        tenant_id=tenant,
        user_id=user,
        agent_id="helper",
        extractor="heuristic",
        extractor_version="1",
        memories=memories,
        lineage=lineage,
    )


@dataclass
class World:
    client: TestClient
    ids: dict[str, str]
    """memory text prefix -> memory id"""
    logs: dict[str, tuple[str, bytes]]
    """log file name -> (sha256, original bytes)"""
    foreign_blob: str
    unmarked_blob: str
    merged_id: str


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory, data_dir: Path) -> Iterator[World]:
    root = tmp_path_factory.mktemp("search-api")
    store = EdgeMemoryStore(root / "shard", shared_onnx_embedder())
    blobs = BlobStore(root / "blobs")
    logs = {}
    for name in LOGS:
        raw = (data_dir / "loghub_2k" / name).read_bytes()
        logs[name] = (blobs.put(raw, media_type="text/plain", referrer=tenant_referrer("acme")).sha256, raw)
    short = b"".join(f"line {n}\n".encode() for n in range(1, 5001))
    logs["short"] = (blobs.put(short, referrer=tenant_referrer("acme")).sha256, short)
    foreign = blobs.put(b"globex secret plans\n", referrer=tenant_referrer("globex")).sha256
    unmarked = blobs.put(b"nobody's blob\n", referrer="req-orphan").sha256
    window = logs["HDFS_2k.log"][0]
    acme_ana = batch(
        "acme",
        "ana",
        (MemoryKind.FACT, "Ana loves sushi and eats it every Friday"),
        (MemoryKind.DECISION, "Ana decided to move the Kafka cluster to Frankfurt"),
        (MemoryKind.ERROR, "The payments deploy failed with a timeout after three retries"),
        (MemoryKind.NEXT_STEP, "Ana plans a trip to Kyoto in April to see the cherry blossoms"),
        window=window,
    )
    acme_bob = batch("acme", "bob", (MemoryKind.FACT, "Bob is vegetarian and cooks lentil curry on Sundays"))
    globex_ana = batch("globex", "ana", (MemoryKind.FACT, "Ana from Globex prefers tacos al pastor"))
    for item in (acme_ana, acme_bob, globex_ana):
        store.upsert(item)
    again = batch("acme", "ana", (MemoryKind.FACT, "Ana loves sushi and eats it every Friday"), window=window)
    report = store.upsert(again)
    assert len(report.updated) == 1, "the repeated memory updates the first one (near-duplicate)"
    ids = {m.text.split()[0] + " " + m.text.split()[2]: m.memory_id for b in (acme_ana, acme_bob) for m in b.memories}
    ids["globex"] = globex_ana.memories[0].memory_id
    app = search_app(Settings(api_keys=KEYS), store=store, blobs=blobs)
    with TestClient(app) as client:
        yield World(client, ids, logs, foreign, unmarked, again.memories[0].memory_id)
    store.close()
    blobs.close()


def search(world: World, headers: dict[str, str], **body: Any) -> Any:
    response = world.client.post("/v1/search", json=body, headers=headers)
    assert response.status_code == 200, response.text
    return response.json()


@pytest.mark.parametrize("mode", ["dense", "hybrid", "multivector"])
def test_search_finds_the_tenants_memory_in_every_mode(world: World, mode: str) -> None:
    found = search(world, ACME, query="what food does Ana like?", user_id="ana", limit=3, mode=mode)
    assert found["mode"] == mode and found["count"] == len(found["hits"]) == 3
    top = found["hits"][0]["memory"]
    assert top["text"].startswith("Ana loves sushi") and top["user_id"] == "ana" and top["kind"] == "fact"
    assert top["window_url"] == f"/v1/blobs/{world.logs['HDFS_2k.log'][0]}"


def test_filters_narrow_the_search(world: World) -> None:
    kinds = search(world, ACME, query="what went wrong", kinds=["error"], limit=10)
    assert [h["memory"]["kind"] for h in kinds["hits"]] == ["error"]
    bob = search(world, ACME, query="food", user_id="bob", limit=10)
    assert [h["memory"]["user_id"] for h in bob["hits"]] == ["bob"]
    tagged = search(world, ACME, query="anything", tags=["food preference"], limit=10)
    assert tagged["hits"] and all("food preference" in h["memory"]["tags"] for h in tagged["hits"])
    strict = search(world, ACME, query="what food does Ana like?", user_id="ana", min_score=0.99)
    assert strict["hits"] == []
    window = search(world, ACME, query="trip", since="2025-02-03T14:30:00Z", until="2025-02-03T16:00:00Z")
    assert [h["memory"]["kind"] for h in window["hits"]] == ["next_step"]


def test_a_tenant_never_sees_another_tenants_memories(world: World) -> None:
    acme_ids = {v for k, v in world.ids.items() if k != "globex"}
    globex = search(world, GLOBEX, query="Ana loves sushi and eats it every Friday", limit=50)
    assert [h["memory"]["memory_id"] for h in globex["hits"]] == [world.ids["globex"]]
    assert search(world, INITECH, query="sushi", limit=50)["hits"] == []
    assert search(world, INITECH, query="Kafka cluster", mode="hybrid", user_id="ana")["hits"] == []
    for memory_id in acme_ids:
        response = world.client.get(f"/v1/memories/{memory_id}", headers=GLOBEX)
        assert response.status_code == 404 and "not found" in response.json()["message"]
    sha = world.logs["Linux_2k.log"][0]
    assert world.client.get(f"/v1/blobs/{sha}", headers=GLOBEX).status_code == 404
    assert world.client.get(f"/v1/blobs/{world.foreign_blob}", headers=ACME).status_code == 404
    assert world.client.get(f"/v1/blobs/{world.foreign_blob}", headers=GLOBEX).content == b"globex secret plans\n"
    assert world.client.get(f"/v1/blobs/{world.unmarked_blob}", headers=ACME).status_code == 404


def test_memory_detail_has_history_and_lineage(world: World) -> None:
    memory_id = world.ids["Ana sushi"]
    detail = world.client.get(f"/v1/memories/{memory_id}", headers=ACME).json()
    assert detail["memory_id"] == memory_id and detail["version"] == 2
    assert detail["merged_ids"] == [world.merged_id]
    assert [v["version"] for v in detail["history"]] == [1]
    assert detail["history"][0]["text"] == "Ana loves sushi and eats it every Friday"
    lineage = detail["lineage"]
    assert (lineage["source_partition"], lineage["source_offset"], lineage["first_turn_index"]) == (1, 42, 3)
    merged = world.client.get(f"/v1/memories/{world.merged_id}", headers=ACME).json()
    assert merged["memory_id"] == memory_id, "a merged id resolves to the memory that absorbed it"
    missing = world.client.get("/v1/memories/no-such-memory", headers=ACME)
    assert missing.status_code == 404 and missing.json()["error"] == "not_found"


def lines_of(raw: bytes, start: int, end: int) -> bytes:
    return b"".join(raw.splitlines(keepends=True)[start - 1 : end])


@pytest.mark.parametrize("name", LOGS)
def test_blob_slices_are_byte_exact(world: World, name: str) -> None:
    sha, raw = world.logs[name]
    for start, end in ((1, 1), (2, 3), (1000, 1100), (1990, 2000)):
        got = world.client.get(f"/v1/blobs/{sha}", params={"lines": f"{start}:{end}"}, headers=ACME)
        assert got.status_code == 200 and got.content == lines_of(raw, start, end)
        assert got.headers["x-memlane-total-lines"] == "2000"
    for start, end in ((0, 1), (17, 4096), (len(raw) - 100, len(raw) + 50)):
        got = world.client.get(f"/v1/blobs/{sha}", params={"bytes": f"{start}:{end}"}, headers=ACME)
        assert got.content == raw[start:end]
    pages, start = [], 1
    while True:
        page = world.client.get(f"/v1/blobs/{sha}", params={"lines": f"{start}:"}, headers=ACME)
        assert len(page.content) <= MAX_SLICE_BYTES
        pages.append(page.content)
        if page.headers["x-memlane-truncated"] == "false":
            break
        start = int(page.headers["x-memlane-end"]) + 1
    assert b"".join(pages) == raw and len(pages) > 1, "paging by lines rebuilds the file exactly"
    as_json = world.client.get(f"/v1/blobs/{sha}", params={"bytes": "100:200", "format": "json"}, headers=ACME).json()
    assert as_json["encoding"] == "utf-8" and as_json["data"].encode() == raw[100:200]


def test_slices_are_capped(world: World) -> None:
    sha, raw = world.logs["HDFS_2k.log"]
    whole = world.client.get(f"/v1/blobs/{sha}", params={"bytes": "0:"}, headers=ACME)
    assert whole.content == raw[:MAX_SLICE_BYTES] and whole.headers["x-memlane-truncated"] == "true"
    lines = world.client.get(f"/v1/blobs/{sha}", params={"lines": "1:5000"}, headers=ACME)
    assert len(lines.content) <= MAX_SLICE_BYTES and lines.headers["x-memlane-truncated"] == "true"
    assert lines.content == lines_of(raw, 1, int(lines.headers["x-memlane-end"]))
    first_page = world.client.get(f"/v1/blobs/{sha}", headers=ACME)
    assert first_page.headers["x-memlane-start"] == "1" and first_page.content == lines.content
    short_sha, short = world.logs["short"]
    capped = world.client.get(f"/v1/blobs/{short_sha}", params={"lines": "1:5000"}, headers=ACME)
    assert capped.headers["x-memlane-end"] == "2000" and capped.headers["x-memlane-truncated"] == "true"
    assert capped.content == lines_of(short, 1, 2000)
    rest = world.client.get(f"/v1/blobs/{short_sha}", params={"lines": "4001:"}, headers=ACME)
    assert rest.content == lines_of(short, 4001, 5000) and rest.headers["x-memlane-truncated"] == "false"
