"""Small builders of valid events for tests."""

from __future__ import annotations

from datetime import UTC, datetime

from schemas.events import (
    Attachment,
    BlobRef,
    ConversationTurn,
    ExtractionRequest,
    Lineage,
    Memory,
    MemoryBatch,
    MemoryKind,
    Role,
    SkipRecord,
    SkipStage,
    UsageRecord,
    WindowTurn,
)

T0 = datetime(2024, 3, 1, 12, 30, 15, 123000, tzinfo=UTC)
SHA = "a" * 64


def turn(
    index: int = 0, conversation: str = "conv-1", content: str | None = "I moved to Lisbon in May."
) -> ConversationTurn:
    return ConversationTurn(
        event_id=f"evt-{conversation}-{index}",
        conversation_id=conversation,
        turn_index=index,
        tenant_id="acme",
        user_id="ana",
        agent_id="helper",
        platform="test",
        role=Role.USER,
        speaker="Ana",
        content=content,
        content_ref=None if content is not None else BlobRef(sha256=SHA, size_bytes=9000, preview="big..."),
        token_count=8,
        context_tokens_used=1200,
        context_tokens_limit=8192,
        attachments=(Attachment(kind="image", url="https://example.test/a.jpg", caption="a cat"),),
        session_id="s1",
        event_time=T0,
        published_at=T0,
        metadata={"dia_id": "D1:1"},
    )


def skip() -> SkipRecord:
    return SkipRecord(
        skip_id="skip-1",
        event_id="evt-1",
        conversation_id="conv-1",
        turn_index=3,
        tenant_id="acme",
        user_id="ana",
        stage=SkipStage.PRIORITY,
        reason="chit_chat",
        detail="greeting",
        scores={"priority": 0.1},
        cues=("greeting",),
        token_count=3,
        source_partition=2,
        source_offset=41,
        event_time=T0,
        recorded_at=T0,
    )


def request() -> ExtractionRequest:
    window = WindowTurn(
        event_id="evt-1",
        turn_index=1,
        role=Role.USER,
        speaker="Ana",
        content="We decided on Postgres.",
        token_count=6,
        priority=0.9,
        priority_class="decision",
        event_time=T0,
        source_partition=1,
        source_offset=7,
    )
    return ExtractionRequest(
        request_id="req-1",
        conversation_id="conv-1",
        tenant_id="acme",
        user_id="ana",
        first_turn_index=1,
        last_turn_index=1,
        turns=(window,),
        context_refs=(BlobRef(sha256=SHA, size_bytes=10),),
        priority=0.9,
        priority_class="decision",
        trigger="priority",
        route="fast",
        token_count=6,
        cues=("decided",),
        source_topic="memlane.turns.v1",
        created_at=T0,
    )


def batch() -> MemoryBatch:
    memory = Memory(
        memory_id="m-1",
        kind=MemoryKind.DECISION,
        text="Ana's team chose Postgres.",
        subject="Ana",
        confidence=0.9,
        priority=0.9,
        source_turn_ids=("evt-1",),
        tags=("work",),
        event_time=T0,
    )
    return MemoryBatch(
        batch_id="b-1",
        request_id="req-1",
        conversation_id="conv-1",
        tenant_id="acme",
        user_id="ana",
        extractor="heuristic",
        extractor_version="1",
        memories=(memory,),
        lineage=Lineage(
            source_topic="memlane.extraction.requests.v1",
            source_partition=0,
            source_offset=5,
            first_turn_index=1,
            last_turn_index=1,
            turn_offsets=(7,),
        ),
        created_at=T0,
    )


def usage() -> UsageRecord:
    return UsageRecord(
        usage_id="u-1",
        request_id="req-1",
        conversation_id="conv-1",
        tenant_id="acme",
        provider="ollama",
        model="qwen2.5:7b",
        tokens_in=120,
        tokens_out=40,
        latency_ms=812.5,
        cost_usd=0.0,
        outcome="success",
        created_at=T0,
    )
