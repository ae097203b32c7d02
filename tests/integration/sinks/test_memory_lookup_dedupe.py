"""The dedupe stage consults the user's existing memories through the memory store (real engine, real model)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from processors.pipeline import TurnProcessor
from processors.stage_settings import ProcessorSettings
from schemas.events import ConversationTurn, Lineage, Memory, MemoryBatch, MemoryKind, Role
from sinks.embeddings import shared_onnx_embedder
from sinks.memory_store import EdgeMemoryStore
from sinks.memory_store.lookup import MemoryStoreLookup

T0 = datetime(2025, 2, 1, 10, 0, tzinfo=UTC)
KNOWN = "I adopted a beagle named Rex from the shelter and he sleeps on my bed every night."


def _memory_batch() -> MemoryBatch:
    memory = Memory(
        memory_id="11111111-1111-5111-8111-111111111111",
        kind=MemoryKind.FACT,
        text=KNOWN,
        subject="ana",
        confidence=0.9,
        event_time=T0,
    )
    return MemoryBatch(
        batch_id="b-rex",
        request_id="r-rex",
        conversation_id="older-conv",
        tenant_id="acme",
        user_id="ana",
        extractor="heuristic",
        extractor_version="1",
        memories=(memory,),
        lineage=Lineage(source_topic="t", source_partition=0, source_offset=0, first_turn_index=0, last_turn_index=0),
    )


def _turn(index: int, text: str, user: str = "ana") -> ConversationTurn:
    return ConversationTurn(
        event_id=f"e{index}-{user}",
        conversation_id=f"new-conv-{user}",
        turn_index=index,
        tenant_id="acme",
        user_id=user,
        platform="test",
        role=Role.USER,
        content=text,
        token_count=len(text.split()) + 4,
        event_time=T0 + timedelta(days=30, minutes=index),
    )


def test_a_turn_repeating_an_existing_memory_is_skipped_as_near_duplicate(tmp_path: Path) -> None:
    embedder = shared_onnx_embedder()
    with EdgeMemoryStore(tmp_path / "memories", embedder) as store:
        store.upsert(_memory_batch())
        store.flush()
        processor = TurnProcessor(ProcessorSettings(), embedder=embedder, memories=MemoryStoreLookup(store))
        _state, decision = processor.process(None, _turn(0, KNOWN))
        skips = [s for s in decision.skips if s.stage.value == "dedupe"]
        assert len(skips) == 1 and skips[0].reason == "near_duplicate"
        assert skips[0].scores.get("similarity", 0.0) >= 0.85 or max(skips[0].scores.values()) >= 0.85
        # another user's identical sentence is not a duplicate of ana's memory
        _other_state, other = processor.process(None, _turn(0, KNOWN, user="bo"))
        assert not [s for s in other.skips if s.stage.value == "dedupe"]
