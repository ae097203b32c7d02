"""Hierarchical summaries: the pure logic (ids, budgets, parsing, blocks) and the local summariser against the
fake Ollama server through the real `ollama` client (success, every failure path, usage records)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from processors.extraction.contract import SourcePosition
from processors.offload.summaries import (
    CHARS_PER_PROMPT_TOKEN,
    SUMMARISER,
    Summariser,
    as_summary_request,
    call_limits,
    cut_to_tokens,
    level_tokens,
    ollama_summary_schema,
    parse_summary,
    summary_batch,
    summary_memory_id,
    summary_messages,
    summary_schema,
)
from processors.offload.summary_blocks import BlockState, WindowSummary, advance, block_request, block_users
from processors.offload.summary_settings import SummarySettings
from processors.tokens import estimate_tokens
from schemas.errors import ExtractionError
from schemas.events import ExtractionRequest, MemoryKind, Role, UsageRecord, WindowTurn
from streams.testing.fake_ollama import FakeOllamaServer

MODEL = "qwen2.5:7b"
T0 = datetime(2024, 5, 8, 13, 0, tzinfo=UTC)
SEEN: list[dict[str, Any]] = []


def request(first: int, last: int, *, tenant: str = "acme", conversation: str = "c1") -> ExtractionRequest:
    turns = tuple(
        WindowTurn(
            event_id=f"e{i}",
            turn_index=i,
            role=Role.USER,
            speaker="Ana" if i % 2 == 0 else "Bruno",
            user_id="ana" if i % 2 == 0 else "bruno",
            content=f"turn {i}: Ana talks about her trip to Lisbon number {i}",
            token_count=10,
            event_time=T0 + timedelta(minutes=i),
        )
        for i in range(first, last + 1)
    )
    return ExtractionRequest(
        request_id=f"req-{first}-{last}",
        conversation_id=conversation,
        tenant_id=tenant,
        user_id="ana",
        first_turn_index=first,
        last_turn_index=last,
        turns=turns,
        priority=0.5,
        priority_class="fact",
        trigger="window",
        token_count=10 * len(turns),
    )


def echo(body: dict[str, Any]) -> str:
    """A scripted model: summarises by naming the turn range it saw."""
    SEEN.append(body)
    header = body["messages"][-1]["content"].splitlines()[0]
    return json.dumps({"summary": f"Summary of {header} Ana plans a trip."})


@pytest.fixture
def server() -> Iterator[FakeOllamaServer]:
    SEEN.clear()
    with FakeOllamaServer([MODEL], responder=echo, hang_seconds=3.0) as fake:
        yield fake


def summariser(server: FakeOllamaServer, usage: list[UsageRecord], **settings: Any) -> Summariser:
    return Summariser.connect(server.url, MODEL, SummarySettings(timeout_s=2.0, **settings), on_usage=usage.append)


def test_ids_are_per_range_per_block_and_per_conversation() -> None:
    assert summary_memory_id("t", "c", 1, 0, 4) == summary_memory_id("t", "c", 1, 0, 4)
    assert summary_memory_id("t", "c", 1, 0, 4) != summary_memory_id("t", "c", 1, 0, 5)
    assert summary_memory_id("t", "c", 1, 0, 4) != summary_memory_id("u", "c", 1, 0, 4)
    assert summary_memory_id("t", "c", 2, 10, 19) != summary_memory_id("t", "c", 2, 20, 29)
    assert summary_memory_id("t", "c", 3, 0, 19) == summary_memory_id("t", "c", 3, 0, 99)


def test_parse_and_cut_to_the_budget() -> None:
    assert parse_summary('{"summary": "  Ana   likes tea. "}') == "Ana likes tea."
    with pytest.raises(ExtractionError) as not_json:
        parse_summary('{"summary": "cut')
    assert not_json.value.error_class == "invalid_json"
    with pytest.raises(ExtractionError) as blank:
        parse_summary('{"summary": "  "}')
    assert blank.value.error_class == "schema_violation"
    long = " ".join(f"Sentence {i} says something about Ana and her trip." for i in range(100))
    cut = cut_to_tokens(long, 50)
    assert estimate_tokens(cut) <= 50 and cut.endswith(".") and long.startswith(cut)
    assert cut_to_tokens("short", 50) == "short"
    schema = summary_schema(100)
    assert schema["properties"]["summary"]["maxLength"] == 100
    assert ollama_summary_schema(1600)["properties"]["summary"]["maxLength"] == 1600
    assert "maxLength" not in ollama_summary_schema(4000)["properties"]["summary"], "over llama.cpp's grammar limit"


def test_messages_fit_the_prompt_budget() -> None:
    messages = summary_messages(as_summary_request(request(0, 49)), 1000)
    assert messages[0]["role"] == "system" and len(messages[1]["content"]) < 1100
    assert "[0] Ana (user): turn 0" in messages[1]["content"]


@pytest.mark.parametrize("num_ctx", [2048, 8192, 32768])
@pytest.mark.parametrize("level", [1, 2, 3])
def test_every_call_leaves_room_for_its_answer_in_the_context(level: int, num_ctx: int) -> None:
    """However long the turns, the prompt shown plus the answer allowed fit `num_ctx` (the server would otherwise
    cut the prompt's start without saying so), and the answer may still reach its level's budget when it fits."""
    settings = SummarySettings(num_ctx=num_ctx)
    num_predict, prompt_chars = call_limits(settings, level)
    long = request(0, 199).model_copy(update={"summary_level": level, "task": "summary"})
    long = long.model_copy(
        update={"turns": tuple(t.model_copy(update={"content": "word " * 4000}) for t in long.turns)}
    )
    shown = sum(len(message["content"]) for message in summary_messages(long, prompt_chars))
    assert shown / CHARS_PER_PROMPT_TOKEN + num_predict <= num_ctx
    assert num_predict >= min(level_tokens(settings, level), num_ctx // 2)


def test_a_window_summary_with_usage_and_its_batch(server: FakeOllamaServer) -> None:
    usage: list[UsageRecord] = []
    task = summariser(server, usage)
    try:
        outcome = task.summarise(as_summary_request(request(0, 4)))
    finally:
        task.close()
    assert "turns 0..4" in outcome.text and outcome.extractor == SUMMARISER and outcome.model == MODEL
    assert SEEN[0]["format"]["required"] == ["summary"] and SEEN[0]["options"]["temperature"] == 0.0
    (record,) = usage
    assert record.request_id == "req-0-4#summary1" and record.outcome == "success" and record.tokens_out > 0
    source = SourcePosition("memlane.extraction.requests.v1", 0, 7, window_blob="ab" * 32)
    batch = summary_batch(as_summary_request(request(0, 4)), outcome, source)
    (memory,) = batch.memories
    assert memory.kind is MemoryKind.SUMMARY and memory.summary_level == 1
    assert memory.memory_id == summary_memory_id("acme", "c1", 1, 0, 4)
    assert memory.user_ids == ("ana", "bruno") and memory.source_turn_indexes == (0, 1, 2, 3, 4)
    assert batch.lineage.first_turn_index == 0 and batch.lineage.last_turn_index == 4
    assert batch.extractor == SUMMARISER and batch.lineage.window_blob == "ab" * 32


def test_the_same_request_gets_the_same_seed(server: FakeOllamaServer) -> None:
    task = summariser(server, [])
    try:
        task.summarise(as_summary_request(request(0, 4)))
        task.summarise(as_summary_request(request(0, 4)))
    finally:
        task.close()
    assert SEEN[0]["options"]["seed"] == SEEN[1]["options"]["seed"]


@pytest.mark.parametrize(
    ("kind", "error_class"),
    [("malformed_json", "invalid_json"), ("http_500", "server_error"), ("refuse", "connection_refused")],
)
def test_failures_raise_the_error_class_with_usage(server: FakeOllamaServer, kind: str, error_class: str) -> None:
    usage: list[UsageRecord] = []
    task = summariser(server, usage)
    server.fail_next(1, kind)  # type: ignore[arg-type]
    try:
        with pytest.raises(ExtractionError) as failed:
            task.summarise(as_summary_request(request(0, 4)))
    finally:
        task.close()
    assert failed.value.error_class == error_class
    assert [u.outcome for u in failed.value.usage] == ["failure"] and usage[0].error_class == error_class


def test_the_complex_model_writes_levels_two_and_three(server: FakeOllamaServer) -> None:
    task = summariser(server, [])
    task.complex_model = "big:1"
    assert task.model_for(1) == MODEL and task.model_for(2) == "big:1" and task.model_for(3) == "big:1"
    task.close()


def window(first: int, last: int) -> WindowSummary:
    return WindowSummary(first, last, f"s{first}-{last}", ("ana",), tuple(range(first, last + 1)), 1_700_000_000_000)


def test_blocks_close_when_a_window_reaches_their_end_and_redelivery_changes_nothing() -> None:
    state = BlockState("acme", "c1", "ana")
    assert advance(state, 0, 4, window(0, 4), 10) == []
    assert advance(state, 0, 4, window(0, 4), 10) == []  # redelivered: recognised by its range
    assert len(state.windows) == 1
    (closed,) = advance(state, 5, 12, window(5, 12), 10)
    assert (closed.block, closed.first, closed.last) == (0, 0, 9)
    assert [w.first for w in closed.windows] == [0, 5]
    assert state.next_block == 1 and [w.first for w in state.windows] == [5]  # 5..12 also covers block 1
    assert advance(state, 0, 4, window(0, 4), 10) == []  # late: block 0 is closed
    restored = BlockState.from_json(state.to_json())
    assert restored == state
    (second,) = advance(restored, 13, 31, None, 10)  # a window without a summary still closes blocks
    assert second.block == 1  # block 2 has no summarised window: nothing to summarise
    assert restored.next_block == 3


def test_a_closed_block_becomes_a_level_two_request() -> None:
    state = BlockState("acme", "c1", "ana")
    advance(state, 0, 4, window(0, 4), 10)
    (closed,) = advance(state, 5, 9, window(5, 9), 10)
    built = block_request(state, closed, request(5, 9))
    assert built.task == "summary" and built.summary_level == 2
    assert (built.first_turn_index, built.last_turn_index) == (0, 9)
    assert [t.content for t in built.turns] == ["s0-4", "s5-9"]
    assert built.request_id == block_request(state, closed, request(5, 9)).request_id
    assert block_users(closed) == ("ana",)


def test_level_two_and_three_bounds_stay_within_the_grammar_limit(server: FakeOllamaServer) -> None:
    task = summariser(server, [])
    try:  # 500 and 4000 tokens at 8 characters each would be over llama.cpp's limit: the real runner dies
        for level in (2, 3):
            outcome = task.summarise(as_summary_request(request(0, 9), level))
            assert outcome.text
    finally:
        task.close()
    assert all("maxLength" not in body["format"]["properties"]["summary"] for body in SEEN)
