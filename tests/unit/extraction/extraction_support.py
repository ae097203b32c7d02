"""Builders shared by the extraction tests: windows of turns, requests, a fake clock, model answers."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from schemas.events import BlobRef, ExtractionRequest, Role, WindowTurn

FAST = "qwen2.5:7b-instruct"
COMPLEX = "qwen2.5:32b-instruct"
API_KEY = "test-key"
T0 = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)

_TURN_HEADER = re.compile(r"^\[turn (\d+) role=(\w+)", re.MULTILINE)


class FakeClock:
    """A monotonic clock the test moves by hand."""

    def __init__(self, start: float = 1000.0) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


def turn(
    index: int,
    content: str | None = "I prefer dark mode in every editor.",
    *,
    role: Role = Role.USER,
    speaker: str | None = None,
    priority_class: str = "fact",
    content_ref: BlobRef | None = None,
    offset: int | None = None,
) -> WindowTurn:
    return WindowTurn(
        event_id=f"evt-{index}",
        turn_index=index,
        role=role,
        speaker=speaker,
        content=content,
        content_ref=content_ref,
        token_count=len((content or "").split()),
        priority_class=priority_class,
        event_time=T0 + timedelta(seconds=index),
        source_partition=0 if offset is not None else None,
        source_offset=offset,
    )


def request_of(turns: list[WindowTurn], **overrides: Any) -> ExtractionRequest:
    fields: dict[str, Any] = {
        "request_id": "req-1",
        "conversation_id": "conv-1",
        "tenant_id": "acme",
        "user_id": "u-1",
        "agent_id": "agent-1",
        "first_turn_index": turns[0].turn_index if turns else 0,
        "last_turn_index": turns[-1].turn_index if turns else 0,
        "turns": tuple(turns),
        "priority": 0.5,
        "priority_class": "fact",
        "trigger": "turn_count",
        "token_count": sum(t.token_count for t in turns),
        "created_at": T0,
    }
    fields.update(overrides)
    return ExtractionRequest(**fields)


def simple_request(**overrides: Any) -> ExtractionRequest:
    """A user stating a preference and the assistant acknowledging it (two turns at offsets 10, 11)."""
    turns = [
        turn(0, "I prefer dark mode in every editor.", offset=10),
        turn(1, "Noted, dark mode it is.", role=Role.ASSISTANT, offset=11),
    ]
    return request_of(turns, **overrides)


def window_turns(body: dict[str, Any]) -> list[tuple[int, str]]:
    """(turn number, role) of each turn rendered in the user message of a chat / messages request."""
    user = next(m for m in body["messages"] if m["role"] == "user")
    return [(int(number), role) for number, role in _TURN_HEADER.findall(user["content"])]


def window_result(body: dict[str, Any], confidence: str = "high") -> dict[str, Any]:
    """A valid extraction result for the request `body`: one fact per user turn of its window."""
    facts = [
        {"text": f"Fact from turn {number}", "subject": "user", "source_turns": [number], "confidence": confidence}
        for number, role in window_turns(body)
        if role == "user"
    ]
    return {"facts": facts, "decisions": [], "next_steps": [], "errors": []}


def ollama_responder(confidence: str = "high") -> Callable[[dict[str, Any]], str]:
    """A fake-Ollama responder answering `window_result` as JSON text."""
    return lambda body: json.dumps(window_result(body, confidence))
