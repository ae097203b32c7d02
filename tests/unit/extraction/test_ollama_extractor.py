"""The Ollama extractor against the fake Ollama server, through the real `ollama` client."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import ollama
import pytest
from extraction_support import (
    COMPLEX,
    FAST,
    FakeClock,
    ollama_responder,
    request_of,
    simple_request,
    turn,
    window_result,
)

from processors.extraction.breaker import BreakerState, CircuitBreaker
from processors.extraction.contract import (
    ExtractionError,
    ExtractionOutcome,
    SourcePosition,
    build_batch,
    extract_all,
)
from processors.extraction.extraction_settings import ExtractionSettings
from processors.extraction.governor import TokenGovernor
from processors.extraction.memory_ids import batch_id, memory_id
from processors.extraction.ollama_extractor import OllamaExtractor
from processors.extraction.result import result_json_schema
from schemas.events import BlobRef, ExtractionRequest, MemoryKind, Role
from sinks.blobstore import BlobStore
from streams.testing.fake_ollama import FakeOllamaServer
from streams.testing.llm_content import count_tokens

CHAT = "/api/chat"
_OPEN: list[OllamaExtractor] = []


@pytest.fixture(autouse=True)
def _close_extractors() -> Iterator[None]:
    yield
    while _OPEN:
        _OPEN.pop().close()


def make(
    server: FakeOllamaServer,
    settings: ExtractionSettings,
    *,
    timeout: float = 5.0,
    clock: FakeClock | None = None,
    governor: TokenGovernor | None = None,
) -> OllamaExtractor:
    client = ollama.Client(host=server.url, timeout=timeout)
    breaker = None
    if clock is not None:
        breaker = CircuitBreaker(
            failure_threshold=settings.breaker_failure_threshold,
            cooldown_s=settings.breaker_cooldown_s,
            clock=clock,
        )
    extractor = OllamaExtractor(client, settings, breaker=breaker, governor=governor)
    _OPEN.append(extractor)
    return extractor


def failure_of(extractor: OllamaExtractor, request: ExtractionRequest) -> ExtractionError:
    with pytest.raises(ExtractionError) as info:
        extractor.extract(request)
    return info.value


def state_of(extractor: OllamaExtractor) -> BreakerState:
    return extractor.breaker.state


def test_happy_path_produces_validated_memories_with_usage(
    ollama_server: FakeOllamaServer, settings: ExtractionSettings
) -> None:
    request = simple_request()
    outcome = make(ollama_server, settings).extract(request)

    assert outcome.extractor == "ollama"
    assert outcome.model == FAST
    assert outcome.prompt_version == settings.prompt_version
    [memory] = outcome.memories
    assert memory.kind is MemoryKind.FACT
    assert memory.text == "Fact from turn 0"
    assert (memory.source_turn_ids, memory.source_turn_indexes) == (("evt-0",), (0,))
    assert memory.memory_id == memory_id("acme", "u-1", "fact", "Fact from turn 0")
    assert memory.event_time == request.turns[0].event_time
    assert "extractor:ollama" in memory.tags

    [body] = ollama_server.received(CHAT)
    assert body["format"] == result_json_schema(request, max_items=1)
    assert {k: body["options"][k] for k in ("temperature", "num_ctx")} == {"temperature": 0.3, "num_ctx": 4096}
    assert body["options"]["num_predict"] == settings.num_predict(2) == 464
    assert isinstance(body["options"]["seed"], int)
    assert body["stream"] is False
    assert body["messages"][0]["role"] == "system"
    assert "[turn 0 role=user]" in body["messages"][1]["content"]

    [usage] = outcome.usage
    prompt_tokens = sum(count_tokens(m["content"]) for m in body["messages"])
    answer_tokens = count_tokens(json.dumps(window_result(body)))
    assert (usage.tokens_in, usage.tokens_out) == (prompt_tokens, answer_tokens)
    assert usage.provider == "ollama" and usage.model == FAST
    assert usage.outcome == "success" and usage.error_class is None
    assert usage.cost_usd == 0.0
    assert usage.latency_ms > 0


def test_options_come_from_settings(ollama_server: FakeOllamaServer) -> None:
    settings = ExtractionSettings(fast_model=FAST, complex_model=COMPLEX, temperature=0.1, num_ctx=4096)
    extractor = make(ollama_server, settings)
    extractor.extract(simple_request())
    extractor.extract(simple_request())
    extractor.extract(simple_request(request_id="req-2"))
    first, again, other = (body["options"] for body in ollama_server.received(CHAT))
    assert {k: first[k] for k in ("temperature", "num_ctx")} == {"temperature": 0.1, "num_ctx": 4096}
    assert first["seed"] == again["seed"] != other["seed"], "a redelivered request samples with the same seed"


def test_batch_carries_lineage_and_deterministic_ids(
    ollama_server: FakeOllamaServer, settings: ExtractionSettings
) -> None:
    request = simple_request()
    extractor = make(ollama_server, settings)
    source = SourcePosition(topic="memlane.extraction.requests.v1", partition=3, offset=42)
    first = build_batch(request, extractor.extract(request), source)
    second = build_batch(request, extractor.extract(request), source)

    assert first.batch_id == second.batch_id == batch_id("req-1", "ollama")
    assert [m.memory_id for m in first.memories] == [m.memory_id for m in second.memories]
    assert (first.extractor, first.model, first.prompt_version) == ("ollama", FAST, settings.prompt_version)
    lineage = first.lineage
    assert (lineage.source_topic, lineage.source_partition, lineage.source_offset) == (source.topic, 3, 42)
    assert (lineage.first_turn_index, lineage.last_turn_index, lineage.turn_offsets) == (0, 1, (10, 11))


def test_long_window_goes_to_the_complex_model(ollama_server: FakeOllamaServer, settings: ExtractionSettings) -> None:
    outcome = make(ollama_server, settings).extract(simple_request(token_count=settings.routing.min_tokens))
    assert outcome.model == COMPLEX
    assert ollama_server.received(CHAT)[0]["model"] == COMPLEX


def test_multi_party_window_goes_to_the_complex_model(
    ollama_server: FakeOllamaServer, settings: ExtractionSettings
) -> None:
    turns = [
        turn(0, "Let us plan the launch.", speaker="alice"),
        turn(1, "I can take the docs.", speaker="bob"),
        turn(2, "Sounds good to me.", role=Role.ASSISTANT),
    ]
    make(ollama_server, settings).extract(request_of(turns))
    assert ollama_server.received(CHAT)[0]["model"] == COMPLEX


def test_short_two_party_window_stays_on_the_fast_model(
    ollama_server: FakeOllamaServer, settings: ExtractionSettings
) -> None:
    make(ollama_server, settings).extract(simple_request())
    assert ollama_server.received(CHAT)[0]["model"] == FAST


@pytest.mark.parametrize(
    ("kind", "error_class"),
    [("malformed_json", "invalid_json"), ("schema_violation", "schema_violation"), ("http_500", "server_error")],
)
def test_bad_answers_are_typed_failures(
    ollama_server: FakeOllamaServer, settings: ExtractionSettings, kind: Any, error_class: str
) -> None:
    ollama_server.fail_next(1, kind)
    failure = failure_of(make(ollama_server, settings), simple_request())
    assert failure.error_class == error_class
    assert failure.retriable
    assert failure.__cause__ is not None  # the library error is chained
    [usage] = failure.usage
    assert usage.outcome == "failure" and usage.error_class == error_class
    if kind != "http_500":  # the model answered: its tokens are counted
        assert usage.tokens_in > 0 and usage.tokens_out > 0


def test_low_confidence_fails_without_counting_against_the_breaker(
    ollama_server: FakeOllamaServer, settings: ExtractionSettings, clock: FakeClock
) -> None:
    ollama_server.script.responder = ollama_responder(confidence=0.5)
    extractor = make(ollama_server, settings, clock=clock)
    assert failure_of(extractor, simple_request()).error_class == "low_confidence"
    assert extractor.breaker.consecutive_failures == 0


def test_items_below_min_confidence_are_dropped_when_the_mean_passes(
    ollama_server: FakeOllamaServer, settings: ExtractionSettings
) -> None:
    def responder(body: dict[str, Any]) -> str:
        item = {"subject": "user", "source_turns": [0]}
        sure = [item | {"text": f"Sure thing {n}", "confidence": "high"} for n in range(2)]
        facts = [*sure, item | {"text": "Maybe", "confidence": "low"}]
        return json.dumps({"facts": facts, "decisions": [], "next_steps": [], "errors": []})

    ollama_server.script.responder = responder
    outcome = make(ollama_server, settings).extract(simple_request())
    assert [m.text for m in outcome.memories] == ["Sure thing 0", "Sure thing 1"]
    assert any("dropped 1 facts" in w for w in outcome.warnings)


def test_missing_model_is_model_not_found(ollama_server: FakeOllamaServer) -> None:
    settings = ExtractionSettings(fast_model="llama9:404b", complex_model=COMPLEX)
    failure = failure_of(make(ollama_server, settings), simple_request())
    assert failure.error_class == "model_not_found"
    assert not failure.retriable
    assert isinstance(failure.__cause__, ollama.ResponseError)


def test_timeout(ollama_server: FakeOllamaServer, settings: ExtractionSettings) -> None:
    ollama_server.fail_next(1, "timeout")
    failure = failure_of(make(ollama_server, settings, timeout=0.3), simple_request())
    assert failure.error_class == "timeout"
    assert failure.usage[0].tokens_in == 0


def test_paused_server_is_connection_refused(ollama_server: FakeOllamaServer, settings: ExtractionSettings) -> None:
    extractor = make(ollama_server, settings)
    ollama_server.pause()
    assert failure_of(extractor, simple_request()).error_class == "connection_refused"
    ollama_server.resume()
    assert extractor.extract(simple_request()).memories


def test_connection_reset_is_connection_refused(ollama_server: FakeOllamaServer, settings: ExtractionSettings) -> None:
    ollama_server.fail_next(1, "refuse")
    assert failure_of(make(ollama_server, settings), simple_request()).error_class == "connection_refused"


def test_breaker_opens_after_five_failures_and_fails_fast(
    ollama_server: FakeOllamaServer, settings: ExtractionSettings, clock: FakeClock
) -> None:
    extractor = make(ollama_server, settings, clock=clock)
    ollama_server.fail_next(5, "http_500")
    for _ in range(5):
        assert failure_of(extractor, simple_request()).error_class == "server_error"
    assert state_of(extractor) is BreakerState.OPEN

    failure = failure_of(extractor, simple_request())
    assert failure.error_class == "circuit_open"
    assert failure.usage == ()
    assert ollama_server.request_count(CHAT) == 5


def test_half_open_after_cooldown_closes_on_success(
    ollama_server: FakeOllamaServer, settings: ExtractionSettings, clock: FakeClock
) -> None:
    extractor = make(ollama_server, settings, clock=clock)
    ollama_server.fail_next(5, "http_500")
    for _ in range(5):
        failure_of(extractor, simple_request())
    clock.advance(settings.breaker_cooldown_s - 1)
    assert failure_of(extractor, simple_request()).error_class == "circuit_open"
    clock.advance(1)
    assert state_of(extractor) is BreakerState.HALF_OPEN

    assert extractor.extract(simple_request()).memories
    assert state_of(extractor) is BreakerState.CLOSED
    assert ollama_server.request_count(CHAT) == 6


def test_failed_trial_reopens_the_circuit(
    ollama_server: FakeOllamaServer, settings: ExtractionSettings, clock: FakeClock
) -> None:
    extractor = make(ollama_server, settings, clock=clock)
    ollama_server.fail_next(6, "http_500")
    for _ in range(5):
        failure_of(extractor, simple_request())
    clock.advance(settings.breaker_cooldown_s)
    assert failure_of(extractor, simple_request()).error_class == "server_error"
    assert state_of(extractor) is BreakerState.OPEN
    assert failure_of(extractor, simple_request()).error_class == "circuit_open"
    assert ollama_server.request_count(CHAT) == 6


def test_parallel_extraction_keeps_to_the_configured_parallelism(
    ollama_server: FakeOllamaServer, settings: ExtractionSettings
) -> None:
    ollama_server.script.latency = 0.15
    requests = [simple_request(request_id=f"req-{i}") for i in range(6)]
    results = extract_all(make(ollama_server, settings), requests, parallelism=2)
    outcomes = [r for r in results if isinstance(r, ExtractionOutcome)]
    assert [o.usage[0].request_id for o in outcomes] == [f"req-{i}" for i in range(6)]
    assert ollama_server.max_concurrency == 2


def test_blob_content_is_pulled_into_the_prompt(
    ollama_server: FakeOllamaServer, settings: ExtractionSettings, tmp_path: Path
) -> None:
    output = "\n".join(f"line {i}: build step passed" for i in range(300)).encode()
    with BlobStore(tmp_path / "blobs") as store:
        sha = store.put(output).sha256
        ref = BlobRef(sha256=sha, size_bytes=len(output), preview="line 0: build step passed")
        turns = [turn(0, "Run the build."), turn(1, None, role=Role.TOOL, content_ref=ref)]
        governor = TokenGovernor(store)
        make(ollama_server, settings, governor=governor).extract(request_of(turns))
    prompt = ollama_server.received(CHAT)[0]["messages"][1]["content"]
    assert "line 299: build step passed" in prompt
    assert "[blob sha256=" not in prompt


def test_health_reports_models_and_outages(
    ollama_server: FakeOllamaServer, settings: ExtractionSettings, clock: FakeClock
) -> None:
    health = make(ollama_server, settings).health(clock=clock)
    status = health.check()
    assert status.ok and status.reachable
    assert {FAST, COMPLEX} <= set(status.models)
    assert ollama_server.request_count("/api/tags") == 1

    assert health.check_if_due() is status  # not due yet: no new request
    assert ollama_server.request_count("/api/tags") == 1
    ollama_server.pause()
    clock.advance(settings.health_interval_s)
    down = health.check_if_due()
    assert not down.reachable and not down.ok and down.error
    ollama_server.resume()


def test_health_names_missing_models() -> None:
    settings = ExtractionSettings(fast_model=FAST, complex_model="qwen2.5:72b-instruct")
    with FakeOllamaServer([FAST]) as server:
        status = make(server, settings).health().check()
    assert status.reachable and not status.ok
    assert status.missing == ("qwen2.5:72b-instruct",)
