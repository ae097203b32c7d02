"""The search API against its own OpenAPI spec (schemathesis): no generated request gets a 5xx.

A real uvicorn server (`ServerThread`) over an embedded shard and blob store holding a tenant's memories and a
window blob; schemathesis reads `/openapi.json` from it and generates requests for every operation, each sent
with the tenant's key (Bearer), with a key nobody holds, and with none. The gate is the server-error check;
what the other checks would say about the spec is not this test's business.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest
import schemathesis
from cases import API_EXAMPLES, count
from confluent_kafka.admin import AdminClient
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error

from schemas.events import Lineage, Memory, MemoryBatch, MemoryKind
from sinks.blobstore import BlobStore
from sinks.embeddings import shared_onnx_embedder
from sinks.memory_store import EdgeMemoryStore
from sinks.search import ServerThread, tenant_referrer
from streams.kafka.provision import provision
from streams.settings import BrokerSettings, Settings, TopicNames
from streams.wiring.stores import search_app

KEY = f"k-fuzz-{uuid.uuid4().hex[:8]}"
KEYS = {"tenant key": {"Authorization": f"Bearer {KEY}"}, "unknown key": {"Authorization": "Bearer nope"}, "no key": {}}
EXAMPLES = API_EXAMPLES[os.environ.get("HYPOTHESIS_PROFILE", "ci")]


def _batch(window: str) -> MemoryBatch:
    memories = tuple(
        Memory(memory_id=str(uuid.uuid4()), kind=kind, text=text, confidence=0.9, event_time=datetime.now(UTC))
        for kind, text in (
            (MemoryKind.FACT, "Ana moved to Lisbon in May"),
            (MemoryKind.DECISION, "Ana decided to move the launch to Friday"),
        )
    )
    lineage = Lineage(
        source_topic="memlane.extraction.requests.v1",
        source_partition=0,
        source_offset=1,
        first_turn_index=0,
        last_turn_index=3,
        window_blob=window,
    )
    return MemoryBatch(
        batch_id=str(uuid.uuid4()),
        request_id="req-fuzz",
        conversation_id="conv-fuzz",
        tenant_id="acme",
        user_id="ana",
        extractor="heuristic",
        extractor_version="1",
        memories=memories,
        lineage=lineage,
    )


@pytest.fixture(scope="module")
def api_server(tmp_path_factory: pytest.TempPathFactory, broker_bootstrap: str) -> Iterator[ServerThread]:
    """The service over a shard holding acme's memories, its writes going to topics of its own on the broker."""
    root: Path = tmp_path_factory.mktemp("api-fuzz")
    suffix = uuid.uuid4().hex[:10]
    topics = TopicNames(**{name: f"fuzz.{suffix}.{getattr(TopicNames(), name)}" for name in TopicNames.model_fields})
    settings = Settings(
        api_keys={KEY: "acme"}, state_dir=root / "state", kafka_bootstrap=broker_bootstrap, topics=topics,
        broker=BrokerSettings(default_partitions=1),
    )  # fmt: skip
    provision(AdminClient(settings.kafka_config()), settings.topic_catalogue())
    store = EdgeMemoryStore(root / "shard", shared_onnx_embedder())
    blobs = BlobStore(root / "blobs")
    window = blobs.put(b"".join(f"line {n}\n".encode() for n in range(200)), referrer=tenant_referrer("acme"))
    store.upsert(_batch(window.sha256))
    app = search_app(settings, store=store, blobs=blobs)
    try:
        with ServerThread(app) as server:
            # one request first: the worker thread it starts belongs to the module, not to the first test
            httpx.post(f"{server.url}/v1/search", json={"query": "Lisbon"}, headers=KEYS["tenant key"], timeout=60)
            yield server
    finally:
        store.close()
        blobs.close()


@pytest.fixture(scope="module")
def api_schema(api_server: ServerThread) -> schemathesis.BaseSchema:
    return schemathesis.openapi.from_url(f"{api_server.url}/openapi.json")


SETTINGS = settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck))


@pytest.mark.parametrize("key", sorted(KEYS))
def test_no_generated_request_gets_a_server_error(api_schema: schemathesis.BaseSchema, key: str) -> None:
    # each operation's cases drawn from its strategy (schemathesis' pytest plugin does not run on pytest 9)
    operations = [result.ok() for result in api_schema.get_all_operations()]
    assert {operation.label for operation in operations} >= {"POST /v1/search", "GET /v1/memories/{memory_id}"}
    for operation in operations:

        @given(case=operation.as_strategy())
        @SETTINGS
        def send(case: schemathesis.Case) -> None:
            count(f"API {case.operation.label} ({key})")
            headers = {name: value for name, value in (case.headers or {}).items() if name.lower() != "authorization"}
            case.call_and_validate(headers={**headers, **KEYS[key]}, checks=[not_a_server_error])

        send()
