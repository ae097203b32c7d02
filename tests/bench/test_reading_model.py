"""The benchmarks' scripted model reads the real extraction prompt and fails a stable share of windows."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

from processors.extraction.governor import GovernedWindow, GovernorMode
from processors.extraction.prompt import build_messages
from processors.extraction.result import parse_result
from schemas.events import ExtractionRequest, Role, WindowTurn
from streams.bench.reading_model import ReadingModel, window_turns

T0 = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)


def _body(texts: list[tuple[str, Role, str | None]]) -> dict[str, object]:
    turns = tuple(
        WindowTurn(
            event_id=f"evt-{i}",
            turn_index=i,
            role=role,
            speaker=who,
            content=text,
            token_count=len(text.split()),
            event_time=T0 + timedelta(seconds=i),
        )
        for i, (text, role, who) in enumerate(texts)
    )
    request = ExtractionRequest(
        request_id="req-1",
        conversation_id="conv-1",
        tenant_id="acme",
        user_id="ana",
        first_turn_index=0,
        last_turn_index=len(turns) - 1,
        turns=turns,
        priority=0.5,
        priority_class="fact",
        trigger="turn_count",
        token_count=sum(t.token_count for t in turns),
    )
    governed = GovernedWindow(mode=next(iter(GovernorMode)), estimated_tokens=0, prompt_tokens=0, blobs={})
    return {"model": "m", "messages": build_messages(request, governed)}


def test_reads_the_users_sentences_from_the_rendered_window() -> None:
    body = _body(
        [
            ("Hi! I moved to Lisbon in May with my two cats.", Role.USER, "Ana"),
            ("That sounds like a big change for your family.", Role.ASSISTANT, "Bot"),
            ("Thanks. I work at the harbour office now.", Role.USER, "Ana"),
        ]
    )
    prompt = body["messages"][1]["content"]  # type: ignore[index]
    assert [t.index for t in window_turns(prompt)] == [0, 1, 2]
    document = ReadingModel().ollama_responder(body)
    result = parse_result(document)
    texts = [(item.text, item.source_turns) for item in result.facts]
    assert texts == [
        ("Ana said: I moved to Lisbon in May with my two cats.", [0]),
        ("Ana said: I work at the harbour office now.", [2]),
    ]


def test_a_failing_share_fails_the_same_windows_every_time() -> None:
    model = ReadingModel(failing_share=0.3)
    bodies = [
        _body([(f"I planted {n} tomato plants on my balcony this spring.", Role.USER, "Ana")]) for n in range(200)
    ]
    failed = [n for n, body in enumerate(bodies) if not _parses(model.ollama_responder(body))]
    again = [n for n, body in enumerate(bodies) if not _parses(model.ollama_responder(body))]
    assert failed == again
    assert 0.2 < len(failed) / len(bodies) < 0.4
    assert all(model.claude_tool_responder(body)["facts"] for body in bodies), "the fallback never fails"


def _parses(text: str) -> bool:
    try:
        json.loads(text)
    except json.JSONDecodeError:
        return False
    return True
