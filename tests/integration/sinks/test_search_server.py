"""The search service on a real uvicorn server (random port), and `memlane search` locally and with `--url`.

The app opens its stores itself from the settings (embedded shard and blob store on disk, written
beforehand as the sinks would), serves them over HTTP, and closes them at shutdown. Raw HTTP requests
(no client-side path normalisation) try path traversal against the live server.
"""

from __future__ import annotations

import http.client
import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest
from typer.testing import CliRunner

from schemas.errors import SearchError
from schemas.events import Lineage, Memory, MemoryBatch, MemoryKind
from sinks.blobstore import BlobStore
from sinks.embeddings import shared_onnx_embedder
from sinks.memory_store import EdgeMemoryStore
from sinks.search import SearchClient, SearchRequest, ServerThread, tenant_referrer
from sinks.sink_settings import SinkSettings
from streams.cli import app as cli
from streams.settings import Settings
from streams.wiring.stores import search_app

FACTS = (
    (MemoryKind.FACT, "Ana loves sushi and eats it every Friday"),
    (MemoryKind.FACT, "Ana's sister lives in Porto and works as a nurse"),
    (MemoryKind.DECISION, "Ana decided to adopt Postgres for the billing service"),
)


@dataclass
class Deployment:
    settings: Settings
    sha: str
    log: bytes


@pytest.fixture(scope="module")
def deployment(tmp_path_factory: pytest.TempPathFactory, data_dir: Path) -> Deployment:
    """Stores on disk as the sinks leave them, and settings that point at them."""
    root = tmp_path_factory.mktemp("search-server")
    settings = Settings(
        api_keys={"k-acme": "acme", "k-globex": "globex"},
        state_dir=root / "memlane",
        tenant_id="acme",
        sinks=SinkSettings(qdrant_path=root / "qdrant"),
    )
    log = (data_dir / "loghub_2k" / "Zookeeper_2k.log").read_bytes()
    with BlobStore(settings.blob_dir) as blobs:
        sha = blobs.put(log, media_type="text/plain", referrer=tenant_referrer("acme")).sha256
    memories = tuple(
        Memory(memory_id=f"m-{n}", kind=kind, text=text, confidence=0.9, event_time=datetime(2025, 1, 5, tzinfo=UTC))
        for n, (kind, text) in enumerate(FACTS)
    )
    lineage = Lineage(
        source_topic="t", source_partition=0, source_offset=7, first_turn_index=0, last_turn_index=4, window_blob=sha
    )
    batch = MemoryBatch(
        batch_id="b-1",
        request_id="r-1",
        conversation_id="c-1",
        tenant_id="acme",
        user_id="ana",
        extractor="heuristic",
        extractor_version="1",
        memories=memories,
        lineage=lineage,
    )
    with EdgeMemoryStore(settings.sinks.qdrant_path / settings.sinks.collection, shared_onnx_embedder()) as store:
        store.upsert(batch)
    return Deployment(settings, sha, log)


@pytest.fixture
def server(deployment: Deployment) -> Iterator[ServerThread]:
    with ServerThread(search_app(deployment.settings)) as running:
        yield running


def raw_get(server: ServerThread, path: str) -> tuple[int, bytes]:
    """GET `path` exactly as written (http.client does not normalise dot segments)."""
    conn = http.client.HTTPConnection(server.host, server.port, timeout=10)
    try:
        conn.request("GET", path, headers={"X-API-Key": "k-acme"})
        response = conn.getresponse()
        return response.status, response.read()
    finally:
        conn.close()


def test_real_server_serves_search_memories_and_blobs(server: ServerThread, deployment: Deployment) -> None:
    assert server.port > 0
    assert httpx.get(f"{server.url}/healthz").json()["status"] == "ok"
    with SearchClient(server.url, "k-acme") as client:
        found = client.search(SearchRequest(query="where does Ana's sister live?", user_id="ana", limit=2))
        assert found.count == 2 and "Porto" in found.hits[0].memory.text
        detail = client.memory("m-2")
        assert detail.kind == MemoryKind.DECISION and detail.lineage and detail.lineage.window_blob == deployment.sha
        piece = client.blob_slice(deployment.sha, lines="10:12")
        assert piece.data.encode() == b"".join(deployment.log.splitlines(keepends=True)[9:12])
    raw = httpx.get(
        f"{server.url}/v1/blobs/{deployment.sha}", params={"bytes": "5:50000"}, headers={"X-API-Key": "k-acme"}
    )
    assert raw.content == deployment.log[5:50000]
    with SearchClient(server.url, "k-globex") as other:
        assert other.search(SearchRequest(query="sushi")).hits == []
        with pytest.raises(SearchError, match="404"):
            other.memory("m-0")
    with SearchClient(server.url, "k-nobody") as stranger, pytest.raises(SearchError, match=r"403.*not recognised"):
        stranger.search(SearchRequest(query="sushi"))


@pytest.mark.parametrize(
    "path",
    ["/v1/blobs/../../../../etc/passwd", "/v1/blobs/..%2F..%2F..%2Fetc%2Fpasswd", "/v1/blobs/../../memlane/blobs"],
)
def test_raw_path_traversal_against_the_live_server(server: ServerThread, path: str) -> None:
    status, body = raw_get(server, path)
    assert status in (404, 422) and b"root:" not in body


runner = CliRunner()


def test_cli_search_against_the_running_service(server: ServerThread) -> None:
    result = runner.invoke(cli, ["search", "sushi", "--url", server.url, "--api-key", "k-acme", "--json"])
    assert result.exit_code == 0, result.output
    hits = json.loads(result.stdout)["hits"]
    assert hits[0]["memory"]["memory_id"] == "m-0"
    missing_key = runner.invoke(cli, ["search", "sushi", "--url", server.url], env={"MEMLANE_SEARCH_API_KEY": ""})
    assert missing_key.exit_code == 2 and "API key" in missing_key.output
    refused = runner.invoke(cli, ["search", "sushi", "--url", server.url, "--api-key", "wrong"])
    assert refused.exit_code == 1 and "403" in refused.output


@pytest.fixture
def local_env(deployment: Deployment, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MEMLANE_SINKS__QDRANT_PATH", str(deployment.settings.sinks.qdrant_path))
    monkeypatch.setenv("MEMLANE_TENANT_ID", "acme")
    monkeypatch.delenv("MEMLANE_SEARCH_URL", raising=False)


@pytest.mark.usefixtures("local_env")
def test_cli_search_on_the_local_store() -> None:
    table = runner.invoke(cli, ["search", "what food does Ana like", "--user", "ana", "--kind", "fact", "--limit", "5"])
    assert table.exit_code == 0, table.output
    assert "sushi" in table.stdout and "decision" not in table.stdout
    hybrid = runner.invoke(cli, ["search", "Postgres billing", "--mode", "hybrid", "--json"])
    assert hybrid.exit_code == 0, hybrid.output
    assert json.loads(hybrid.stdout)["hits"][0]["memory"]["memory_id"] == "m-2"
    other = runner.invoke(cli, ["search", "sushi", "--tenant", "globex", "--json"])
    assert json.loads(other.stdout)["count"] == 0
    invalid = runner.invoke(cli, ["search", "sushi", "--limit", "0"])
    assert invalid.exit_code == 2 and "limit" in invalid.output
