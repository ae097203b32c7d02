"""Bad requests to the search API get the right 4xx and a message that says what to fix.

401 / 403 / 400 for credentials, 422 for invalid bodies and parameters (naming the field), 400 for
bad slice ranges, 404 for unknown memories, blobs and routes; path traversal never reaches a file.
Also: health, Prometheus metrics and the OpenAPI spec.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from fastapi.testclient import TestClient

from schemas.events import Lineage, Memory, MemoryBatch, MemoryKind
from sinks.blobstore import BlobStore
from sinks.embeddings import shared_onnx_embedder
from sinks.memory_store import EdgeMemoryStore
from sinks.search import tenant_referrer
from streams.settings import Settings
from streams.wiring.stores import search_app

KEY = {"X-API-Key": "k-acme"}
SECRET = b"TOP-SECRET-DO-NOT-SERVE"


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[TestClient, str]]:
    root = tmp_path_factory.mktemp("search-errors")
    (root / "secret.txt").write_bytes(SECRET)
    store = EdgeMemoryStore(root / "shard", shared_onnx_embedder())
    blobs = BlobStore(root / "blobs")
    sha = blobs.put(b"one\ntwo\nthree\n", referrer=tenant_referrer("acme")).sha256
    memory = Memory(
        memory_id="m-1", kind=MemoryKind.FACT, text="Ana keeps bees", confidence=0.9, event_time=datetime.now(UTC)
    )
    lineage = Lineage(source_topic="t", source_partition=0, source_offset=0, first_turn_index=0, last_turn_index=0)
    store.upsert(
        MemoryBatch(
            batch_id="b-1",
            request_id="r-1",
            conversation_id="c-1",
            tenant_id="acme",
            user_id="ana",
            extractor="heuristic",
            extractor_version="1",
            memories=(memory,),
            lineage=lineage,
        )
    )
    with TestClient(search_app(Settings(api_keys={"k-acme": "acme"}), store=store, blobs=blobs)) as test_client:
        yield test_client, sha
    store.close()
    blobs.close()


def post(client: TestClient, body: Any, headers: dict[str, str] | None = None) -> Any:
    return client.post("/v1/search", json=body, headers=KEY if headers is None else headers)


@pytest.mark.parametrize(
    ("headers", "status", "says"),
    [
        ({}, 401, "missing API key"),
        ({"Authorization": "Basic YWxhZGRpbjpvcGVu"}, 401, "unsupported Authorization scheme"),
        ({"Authorization": "Bearer "}, 401, "Bearer"),
        ({"X-API-Key": "k-unknown"}, 403, "not recognised"),
        ({"Authorization": "Bearer k-acme-typo"}, 403, "not recognised"),
        ({"Authorization": "Bearer k-acme", "X-API-Key": "k-other"}, 400, "two different API keys"),
    ],
)
def test_credentials_are_checked_on_every_route(
    client: tuple[TestClient, str], headers: dict[str, str], status: int, says: str
) -> None:
    test_client, sha = client
    for response in (
        post(test_client, {"query": "bees"}, headers),
        test_client.get("/v1/memories/m-1", headers=headers),
        test_client.get(f"/v1/blobs/{sha}", headers=headers),
    ):
        assert response.status_code == status and says in response.json()["message"]
        assert ("www-authenticate" in response.headers) == (status == 401)


@pytest.mark.parametrize("headers", [{"Authorization": "bearer k-acme"}, {"Authorization": "Bearer k-acme", **KEY}])
def test_valid_credentials_in_either_form(client: tuple[TestClient, str], headers: dict[str, str]) -> None:
    assert post(client[0], {"query": "bees"}, headers).json()["count"] == 1


@pytest.mark.parametrize(
    ("body", "says"),
    [
        ({}, "body.query: Field required"),
        ({"query": ""}, "body.query: String should have at least 1 character"),
        ({"query": "   "}, "non-whitespace"),
        ({"query": "x", "limit": 0}, "body.limit"),
        ({"query": "x", "limit": 101}, "body.limit"),
        ({"query": "x", "mode": "fuzzy"}, "body.mode"),
        ({"query": "x", "kinds": ["gossip"]}, "body.kinds.0"),
        ({"query": "x", "min_score": 2}, "body.min_score"),
        ({"query": "x", "colour": "red"}, "body.colour: Extra inputs are not permitted"),
        ({"query": "x", "since": "2025-02-02T00:00:00Z", "until": "2025-01-01T00:00:00Z"}, "since must not be after"),
        ({"query": "x" * 2001}, "body.query"),
        ("not an object", "body"),
    ],
)
def test_invalid_search_bodies_are_422_naming_the_field(client: tuple[TestClient, str], body: Any, says: str) -> None:
    response = post(client[0], body)
    assert response.status_code == 422
    payload = response.json()
    assert payload["error"] == "validation_error" and says in payload["message"] and payload["errors"]


@pytest.mark.parametrize(
    ("params", "says"),
    [
        ({"lines": "0:5"}, "numbered from 1"),
        ({"lines": "5:2"}, "END (2) is before START (5)"),
        ({"lines": "a:b"}, "expected lines=START:END"),
        ({"lines": "1:2:3"}, "expected lines=START:END"),
        ({"lines": ""}, "expected lines=START:END"),
        ({"bytes": "-1:5"}, "expected bytes=START:END"),
        ({"bytes": "10:5"}, "END (5) is before START (10)"),
        ({"lines": "1:2", "bytes": "0:1"}, "not both"),
    ],
)
def test_bad_ranges_are_400(client: tuple[TestClient, str], params: dict[str, str], says: str) -> None:
    test_client, sha = client
    response = test_client.get(f"/v1/blobs/{sha}", params=params, headers=KEY)
    assert response.status_code == 400 and says in response.json()["message"]


@pytest.mark.parametrize(
    "path",
    [
        "/v1/blobs/..%2F..%2Fsecret.txt",
        "/v1/blobs/%2e%2e%2f%2e%2e%2fsecret.txt",
        "/v1/blobs/..%5C..%5Csecret.txt",
        "/v1/blobs/....//....//secret.txt",
        "/v1/blobs/../../secret.txt",
        "/v1/blobs/%2Ftmp%2Fsecret.txt",
        "/v1/blobs/..",
        "/v1/blobs/" + "a" * 63 + "%00",
        "/v1/blobs/" + "A" * 64,
        "/v1/blobs/" + "a" * 64 + "/../../secret.txt",
    ],
)
def test_path_traversal_is_rejected(client: tuple[TestClient, str], path: str) -> None:
    response = client[0].get(path, headers=KEY)
    assert response.status_code in (404, 422), response.status_code
    assert SECRET not in response.content and b"three" not in response.content


def test_unknown_things_are_404_and_wrong_parameters_422(client: tuple[TestClient, str]) -> None:
    test_client, sha = client
    unknown = test_client.get("/v1/blobs/" + "0" * 64, headers=KEY)
    assert unknown.status_code == 404 and "not found" in unknown.json()["message"]
    assert test_client.get("/v1/memories/m-404", headers=KEY).status_code == 404
    assert test_client.get("/v1/nothing", headers=KEY).json()["error"] == "not_found"
    assert test_client.get("/v1/search", headers=KEY).status_code == 405
    bad_id = test_client.get("/v1/blobs/xyz", headers=KEY)
    assert bad_id.status_code == 422 and "path.sha256" in bad_id.json()["message"]
    bad_format = test_client.get(f"/v1/blobs/{sha}", params={"format": "xml"}, headers=KEY)
    assert bad_format.status_code == 422 and "query.format" in bad_format.json()["message"]


def test_health_metrics_and_openapi(client: tuple[TestClient, str]) -> None:
    test_client, _sha = client
    assert test_client.get("/healthz").json() == {"status": "ok", "store": "EdgeMemoryStore"}
    post(test_client, {"query": "bees"})
    metrics = test_client.get("/metrics")
    assert metrics.status_code == 200 and metrics.headers["content-type"].startswith("text/plain")
    assert 'memlane_search_http_requests_total{method="POST",route="/v1/search",status="200"}' in metrics.text
    spec = test_client.get("/openapi.json").json()
    assert {"/v1/search", "/v1/memories/{memory_id}", "/v1/blobs/{sha256}", "/healthz"} <= set(spec["paths"])
    assert {"HTTPBearer", "APIKeyHeader"} <= set(spec["components"]["securitySchemes"])
    assert "SearchRequest" in spec["components"]["schemas"]
    assert "application/octet-stream" in spec["paths"]["/v1/blobs/{sha256}"]["get"]["responses"]["200"]["content"]


def test_an_unused_uuid_id_is_not_found(client: tuple[TestClient, str]) -> None:
    assert client[0].get(f"/v1/memories/{uuid.uuid4()}", headers=KEY).status_code == 404


def test_the_docs_page_loads_every_asset_from_the_service_itself(client: tuple[TestClient, str]) -> None:
    """`/docs` works on a closed network: every script, style and icon it names is served by this process."""
    page = client[0].get("/docs")
    assert page.status_code == 200 and "text/html" in page.headers["content-type"]
    assets = re.findall(r"""(?:src|href)=['"]([^'"]+)['"]""", page.text)
    assert assets and all(url.startswith("/docs/assets/") for url in assets), assets
    for url in assets:
        asset = client[0].get(url)
        assert asset.status_code == 200 and len(asset.content) > 0, url
