"""The registry enforces BACKWARD compatibility on our schemas; an incompatible one is refused, typed.

Behaviour only (Apicurio's ids, error texts and `GET /config/{subject}` differ from Confluent's): every shipped
schema registers after its v1 writer (the evolution the project promises), and a topic whose subject already
holds a schema ours cannot read refuses our events with a `CodecError` (HTTP 409 underneath), never a
`ServiceUnavailableError` (which would make workers retry forever) and never a message sent.
"""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime

import httpx
import pytest

from schemas.catalogue import HISTORY_DIR, load_schema_dir, shipped_catalogue
from schemas.codec import SchemaRegistryCodec
from schemas.errors import CodecError, ServiceUnavailableError
from schemas.events import ConversationTurn, Role
from streams.broker.registry import LocalRegistry

JSON = {"Content-Type": "application/vnd.schemaregistry.v1+json"}


def _register(registry: LocalRegistry, subject: str, schema: str) -> int:
    return httpx.post(
        f"{registry.url}/subjects/{subject}/versions", json={"schema": schema}, headers=JSON, timeout=30
    ).status_code


def test_every_schema_evolves_backward_from_v1(local_registry: LocalRegistry) -> None:
    current = shipped_catalogue()
    run = uuid.uuid4().hex[:8]
    for v1 in load_schema_dir(HISTORY_DIR / "v1").values():
        name = v1.full_name
        subject = f"compat-{run}-{name}-value"
        assert _register(local_registry, subject, v1.schema_json) == 200, name
        assert _register(local_registry, subject, current.current(name).schema_json) == 200, name
        versions = httpx.get(f"{local_registry.url}/subjects/{subject}/versions", timeout=30).json()
        assert len(versions) == (1 if v1.fingerprint == current.current(name).fingerprint else 2), name


def test_an_incompatible_schema_is_refused_with_a_typed_error(local_registry: LocalRegistry) -> None:
    topic = f"compat-{uuid.uuid4().hex[:8]}.memlane.turns.v1"
    legacy = {
        "type": "record",
        "name": "ConversationTurn",
        "namespace": "memlane",
        "fields": [{"name": "legacy_only", "type": "string"}],
    }
    assert _register(local_registry, f"{topic}-value", json.dumps(legacy)) == 200
    codec = SchemaRegistryCodec(_client(local_registry.url))
    turn = ConversationTurn(
        event_id="evt-compat",
        conversation_id="conv-compat",
        turn_index=0,
        tenant_id="acme",
        user_id="ana",
        platform="test",
        role=Role.USER,
        content="I moved to Lisbon in May.",
        token_count=8,
        event_time=datetime.now(UTC),
    )
    with pytest.raises(CodecError) as refused:
        codec.encode(turn, topic)
    assert not isinstance(refused.value, ServiceUnavailableError)
    assert getattr(refused.value.__cause__, "http_status_code", None) == 409
    assert "ConversationTurn" in str(refused.value)
    other = f"compat-{uuid.uuid4().hex[:8]}.memlane.turns.v1"
    assert codec.decode(codec.encode(turn, other), ConversationTurn, other) == turn, "a fresh subject accepts it"


def _client(url: str):
    from confluent_kafka.schema_registry import SchemaRegistryClient

    return SchemaRegistryClient({"url": url})
