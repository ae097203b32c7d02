"""Two tenants with the same conversation ids and turn indexes, and a two-person LoCoMo conversation, through
the whole pipeline (processors, heuristic extraction, sinks). Search under each tenant's API key sees exactly
that tenant's memories; every memory belongs to the person who said it."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

from fastapi.testclient import TestClient
from scenario_support import Pipeline, record

from schemas.events import ConversationTurn, MemoryBatch, Role
from sinks.memory_store import SearchFilters
from streams.ingest.locomo import locomo_turns
from streams.kafka.consumer import read_topic
from streams.settings import Settings
from streams.wiring.stores import memory_store, search_app

T0 = datetime(2025, 6, 2, 9, 0, tzinfo=UTC)
FACTS = {
    "acme": ("I keep bonsai trees on my balcony in Lisbon.", "My brother Tomas repairs motorcycles."),
    "globex": ("I ship containers from Rotterdam every week.", "My sister Ines teaches salsa in Porto."),
}


def tenant_turns(tenant: str, user: str) -> list[ConversationTurn]:
    lines = [*FACTS[tenant], "We decided to move the launch to Friday.", "Thanks!"]
    return [
        ConversationTurn(
            event_id=f"{tenant}-shared-1-{i}",
            conversation_id="shared-1",
            turn_index=i,
            tenant_id=tenant,
            user_id=user,
            platform="test",
            role=Role.USER,
            speaker=user,
            content=line,
            token_count=0,
            event_time=T0 + timedelta(minutes=i),
        )
        for i, line in enumerate(lines)
    ]


def test_two_tenants_sharing_conversation_ids_never_see_each_other(kafka_settings: Settings, tmp_path: Path) -> None:
    keys = {"k-acme": "acme", "k-globex": "globex"}
    pipeline = Pipeline.for_test(kafka_settings.model_copy(update={"api_keys": keys}), tmp_path)
    pipeline.publish(tenant_turns("acme", "ana"))
    pipeline.publish(tenant_turns("globex", "bo"))
    pipeline.drain_processors()
    pipeline.extract()
    pipeline.sinks()
    report = pipeline.verify()
    with memory_store(pipeline.settings) as store, TestClient(search_app(pipeline.settings, store=store)) as client:
        seen: dict[str, list[dict[str, object]]] = {}
        for key, tenant in keys.items():
            response = client.post(
                "/v1/search",
                json={"query": "hobbies and family", "limit": 50},
                headers={"Authorization": f"Bearer {key}"},
            )
            assert response.status_code == 200, response.text
            seen[tenant] = [hit["memory"] for hit in response.json()["hits"]]
    texts = {tenant: {str(m["text"]) for m in hits} for tenant, hits in seen.items()}
    record(
        "two tenants, same conversation id and turn indexes",
        sent=8,
        accounted=report.turns - report.turns_lost,
        lost=report.turns_lost,
        duplicated=report.turns_duplicated,
        acme_memories=len(texts["acme"]),
        globex_memories=len(texts["globex"]),
        verdict=report.verdict,
    )
    assert report.ok, report.discrepancies
    speakers = {"acme": "ana", "globex": "bo"}
    said = {tenant: {f"{speakers[tenant]}: {fact}" for fact in facts} for tenant, facts in FACTS.items()}
    for tenant, hits in seen.items():
        other = "globex" if tenant == "acme" else "acme"
        assert said[tenant] <= texts[tenant], f"{tenant} finds all of its own facts"
        assert not said[other] & texts[tenant], f"{tenant} sees none of {other}'s"
        assert {m["user_id"] for m in hits} == {"ana" if tenant == "acme" else "bo"}
    assert report.turns_skipped == 2 and report.turns_in_requests == 6, "no turn of globex was taken for a redelivery"


def test_each_memory_of_a_two_person_conversation_belongs_to_its_speaker(
    kafka_settings: Settings, tmp_path: Path, locomo_path: Path
) -> None:
    pipeline = Pipeline.for_test(kafka_settings, tmp_path)
    turns = [
        item.turn for item in locomo_turns(locomo_path, tenant_id="acme") if item.turn.conversation_id == "conv-26"
    ]
    speaker_of = {turn.event_id: turn.user_id for turn in turns}
    pipeline.publish(turns)
    pipeline.drain_processors()
    pipeline.extract()
    pipeline.sinks()
    report = pipeline.verify()
    codec, topics = pipeline.settings.codec(), pipeline.settings.topics
    batches = [
        codec.decode(m.value() or b"", MemoryBatch, topics.memories)
        for m in read_topic(pipeline.settings.kafka, topics.memories)
    ]
    memories = [memory for batch in batches for memory in batch.memories]
    right: Counter[str] = Counter()
    total: Counter[str] = Counter()
    for memory in memories:
        (source,) = memory.source_turn_ids
        total[speaker_of[source]] += 1
        right[speaker_of[source]] += memory.user_id == speaker_of[source]
    with memory_store(pipeline.settings) as store:
        melanie = store.search("acme", "painting and running", SearchFilters(user_id="melanie"), limit=20)
        stored_melanie = sum(1 for _ in store.records("acme", SearchFilters(user_id="melanie")))
    shares = {user: right[user] / total[user] for user in total}
    record(
        "LoCoMo conv-26: memories attributed to their speaker",
        turns=len(turns),
        memories=len(memories),
        per_speaker=dict(total),
        right_share=shares,
        melanie_stored=stored_melanie,
        verdict=report.verdict,
    )
    assert report.ok, report.discrepancies[:5]
    assert set(total) == {"caroline", "melanie"} and all(share == 1.0 for share in shares.values())
    assert melanie and all(hit.record.user_id == "melanie" for hit in melanie)
    assert stored_melanie >= total["melanie"] * 0.9, (
        "her memories are stored under her (a few merge as near-duplicates)"
    )
