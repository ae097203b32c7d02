"""The records the processors emit: window turns, extraction requests (with their route) and skip records.

Everything here is deterministic given its inputs: ids come from `processors.request_ids`, and the timestamps a
record carries (`created_at`, `recorded_at`) are the *event time* at which it was decided, not the wall
clock, so processing the same turns twice yields byte-identical records.

Route rules (`ProcessorSettings.complex_route_*`): a window goes to the `complex` model when it is long
(more than `complex_route_tokens`), multi-party (at least `complex_route_speakers` distinct speakers among
user and assistant turns) or decision-heavy (at least `complex_route_decisions` decision turns); otherwise
`fast`.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Protocol

from processors.priority import PriorityClass, Score
from processors.request_ids import request_id, skip_id
from processors.stage_settings import ProcessorSettings
from processors.state import ConversationState
from schemas.events import BlobRef, ConversationTurn, ExtractionRequest, Role, SkipRecord, SkipStage, WindowTurn

ROUTE_FAST = "fast"
ROUTE_COMPLEX = "complex"


class ContentOffload(Protocol):
    """Moves text too large to carry inline into the blob store (the processors' claim check).

    `threshold_chars`: text longer than this is offloaded; the call stores `text` for `tenant_id` and returns
    its reference (content-addressed, so a replay stores nothing new and returns the same reference).
    """

    threshold_chars: int

    def __call__(self, text: str, *, tenant_id: str, media_type: str, referrer: str) -> BlobRef: ...


def window_turn(
    turn: ConversationTurn,
    text: str,
    tokens: int,
    score: Score,
    *,
    source_partition: int | None = None,
    source_offset: int | None = None,
    offload: ContentOffload | None = None,
) -> WindowTurn:
    """A turn as a request carries it: its text with captions (or its blob ref), tokens and score.

    Inline content longer than `offload.threshold_chars` (a turn that reached the topic without the
    publisher's claim check) goes to the blob store, so no request grows past the size of a message.
    """
    content: str | None = text if turn.content is not None else None
    content_ref = turn.content_ref if turn.content is None else None
    if content is not None and offload is not None and len(content) > offload.threshold_chars:
        media_type = "text/x-tool-output" if turn.tool_name else "text/plain"
        content_ref = offload(
            content, tenant_id=turn.tenant_id, media_type=media_type, referrer=f"turn:{turn.event_id}"
        )
        content = None
    return WindowTurn(
        event_id=turn.event_id,
        turn_index=turn.turn_index,
        role=turn.role,
        speaker=(turn.speaker or turn.user_id) if turn.role is Role.USER else turn.speaker,
        user_id=turn.user_id,
        content=content,
        content_ref=content_ref,
        tool_name=turn.tool_name,
        token_count=tokens,
        priority=score.score,
        priority_class=score.priority_class.value,
        event_time=turn.event_time,
        source_partition=source_partition,
        source_offset=source_offset,
        published_at=turn.published_at,
    )


def route(turns: Sequence[WindowTurn], settings: ProcessorSettings) -> str:
    """`complex` for long, multi-party or decision-heavy windows, else `fast`."""
    if sum(t.token_count for t in turns) > settings.complex_route_tokens:
        return ROUTE_COMPLEX
    speakers = {t.speaker or t.role.value for t in turns if t.role in (Role.USER, Role.ASSISTANT)}
    if len(speakers) >= settings.complex_route_speakers:
        return ROUTE_COMPLEX
    decisions = sum(1 for t in turns if t.priority_class == PriorityClass.DECISION.value)
    if decisions >= settings.complex_route_decisions:
        return ROUTE_COMPLEX
    return ROUTE_FAST


def extraction_request(
    state: ConversationState,
    turns: Sequence[WindowTurn],
    *,
    trigger: str,
    now: datetime,
    settings: ProcessorSettings,
    cues: Sequence[str] = (),
    source_topic: str | None = None,
) -> ExtractionRequest:
    """The request for a window of turns (non-empty, in turn order) of `state`'s conversation."""
    if not turns:
        raise ValueError("an extraction request needs at least one turn")
    first, last = turns[0].turn_index, turns[-1].turn_index
    top = max(turns, key=lambda t: (t.priority, -t.turn_index))
    refs = tuple(dict.fromkeys(t.content_ref for t in turns if t.content_ref is not None))
    return ExtractionRequest(
        request_id=request_id(state.tenant_id, state.conversation_id, first, last),
        conversation_id=state.conversation_id,
        tenant_id=state.tenant_id,
        user_id=state.user_id,
        agent_id=state.agent_id,
        first_turn_index=first,
        last_turn_index=last,
        turns=tuple(turns),
        context_refs=refs,
        priority=top.priority,
        priority_class=top.priority_class,
        trigger=trigger,
        route=route(turns, settings),
        token_count=sum(t.token_count for t in turns),
        cues=tuple(cues)[: settings.max_request_cues],
        source_topic=source_topic,
        created_at=now,
    )


def skip_record(
    turn: ConversationTurn,
    stage: SkipStage,
    reason: str,
    *,
    tokens: int,
    detail: str = "",
    scores: dict[str, float] | None = None,
    cues: Sequence[str] = (),
    source_partition: int | None = None,
    source_offset: int | None = None,
) -> SkipRecord:
    """Why `turn` goes to no request: the stage, a reason code, a detail, the scores and cues."""
    return SkipRecord(
        skip_id=skip_id(turn.tenant_id, turn.conversation_id, turn.turn_index, reason),
        event_id=turn.event_id,
        conversation_id=turn.conversation_id,
        turn_index=turn.turn_index,
        tenant_id=turn.tenant_id,
        user_id=turn.user_id,
        stage=stage,
        reason=reason,
        detail=detail,
        scores=dict(scores or {}),
        cues=tuple(cues),
        token_count=tokens,
        source_partition=source_partition,
        source_offset=source_offset,
        event_time=turn.event_time,
        recorded_at=turn.event_time,
    )


def window_skip(
    state: ConversationState, turn: WindowTurn, stage: SkipStage, reason: str, *, detail: str = ""
) -> SkipRecord:
    """The skip record of a turn already in a pending window (when the window itself is abandoned)."""
    return SkipRecord(
        skip_id=skip_id(state.tenant_id, state.conversation_id, turn.turn_index, reason),
        event_id=turn.event_id,
        conversation_id=state.conversation_id,
        turn_index=turn.turn_index,
        tenant_id=state.tenant_id,
        user_id=turn.user_id or state.user_id,
        stage=stage,
        reason=reason,
        detail=detail,
        token_count=turn.token_count,
        source_partition=turn.source_partition,
        source_offset=turn.source_offset,
        event_time=turn.event_time,
        recorded_at=turn.event_time,
    )


__all__ = ["ROUTE_COMPLEX", "ROUTE_FAST", "extraction_request", "route", "skip_record", "window_skip", "window_turn"]
