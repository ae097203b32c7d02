"""The Ollama extractor against what small local models and a busy server do (issue 14), on the fake server.

Each behaviour here was seen on the real server with SmolLM2-135M; `tests/integration/ollama/` shows the
same against the real one where it can.
"""

from __future__ import annotations

import json
from typing import Any

import ollama
import pytest
from extraction_support import FAST, request_of, simple_request, turn

from processors.extraction.breaker import BreakerState
from processors.extraction.contract import ExtractionError
from processors.extraction.extraction_settings import ExtractionSettings
from processors.extraction.ollama_extractor import OllamaExtractor, translate_error
from processors.extraction.policy import policy_of
from streams.testing.fake_ollama import FakeOllamaServer
from streams.testing.ollama_rules import INVALID_SCHEMA, SERVER_BUSY, option_type_error


def make(server: FakeOllamaServer, settings: ExtractionSettings, **kwargs: Any) -> OllamaExtractor:
    return OllamaExtractor(ollama.Client(host=server.url, timeout=5.0), settings, **kwargs)


def failure_of(extractor: OllamaExtractor, request: Any) -> ExtractionError:
    with pytest.raises(ExtractionError) as info:
        extractor.extract(request)
    return info.value


def test_num_predict_follows_the_window_and_a_cut_answer_is_output_truncated(
    ollama_server: FakeOllamaServer,
) -> None:
    item = {"text": "The user prefers dark mode", "subject": "user", "source_turns": [0], "confidence": "high"}
    endless = json.dumps({"facts": [item] * 20, "decisions": [], "next_steps": [], "errors": []})
    ollama_server.script.responder = lambda body: endless  # a small model looping inside the grammar
    settings = ExtractionSettings(fast_model=FAST, max_output_tokens=64)
    failure = failure_of(make(ollama_server, settings), simple_request())
    assert failure.error_class == "output_truncated" and failure.retriable
    [body] = ollama_server.received("/api/chat")
    assert body["options"]["num_predict"] == 64
    [usage] = failure.usage
    assert (usage.outcome, usage.error_class, usage.tokens_out) == ("failure", "output_truncated", 64)
    assert ExtractionSettings().num_predict(2) < ExtractionSettings().num_predict(40) <= 1536


def test_content_failures_go_to_the_dlq_on_their_own_and_never_open_the_breaker(
    ollama_server: FakeOllamaServer, settings: ExtractionSettings
) -> None:
    extractor = make(ollama_server, settings)
    ollama_server.fail_next(4, "malformed_json")
    ollama_server.fail_next(4, "schema_violation")
    classes = [failure_of(extractor, simple_request(request_id=f"r{n}")).error_class for n in range(8)]
    assert classes == ["invalid_json"] * 4 + ["schema_violation"] * 4
    assert extractor.breaker.state is BreakerState.CLOSED and extractor.breaker.consecutive_failures == 0
    assert extractor.extract(simple_request()).memories, "the next request is tried, not circuit_open"


def test_unavailability_still_opens_the_breaker(ollama_server: FakeOllamaServer, settings: ExtractionSettings) -> None:
    extractor = make(ollama_server, settings)
    ollama_server.fail_next(settings.breaker_failure_threshold, "http_500")
    for n in range(settings.breaker_failure_threshold):
        failure_of(extractor, simple_request(request_id=f"r{n}"))
    assert failure_of(extractor, simple_request()).error_class == "circuit_open"


@pytest.mark.parametrize("detail", [INVALID_SCHEMA, option_type_error("num_ctx", "integer")])
def test_a_500_naming_the_request_is_a_bad_request_that_says_nothing_about_the_server(detail: str) -> None:
    failure = translate_error(ollama.ResponseError(detail, 500), FAST)
    assert failure.error_class == "bad_request" and not failure.retriable
    assert policy_of("bad_request").breaker == "neutral"
    crash = translate_error(ollama.ResponseError("llama runner process has terminated: exit status 2", 500), FAST)
    assert crash.error_class == "server_error" and crash.retriable


def test_a_busy_server_is_retried_with_backoff_then_overloaded(ollama_server: FakeOllamaServer) -> None:
    waits: list[float] = []
    settings = ExtractionSettings(fast_model=FAST, busy_attempts=3, busy_backoff_s=0.5)
    extractor = make(ollama_server, settings, sleep=waits.append)
    ollama_server.fail_next(2, "busy")
    outcome = extractor.extract(simple_request())
    assert waits == [0.5, 1.0] and outcome.memories
    assert [u.error_class for u in outcome.usage] == ["overloaded", "overloaded", None]
    assert [u.attempt for u in outcome.usage] == [1, 2, 3]

    ollama_server.fail_next(3, "busy")
    failure = failure_of(extractor, simple_request())
    assert failure.error_class == "overloaded" and SERVER_BUSY in str(failure) and len(failure.usage) == 3


def test_num_ctx_is_a_setting_per_model(ollama_server: FakeOllamaServer) -> None:
    settings = ExtractionSettings(fast_model=FAST, num_ctx_by_model={FAST: 2048})
    make(ollama_server, settings).extract(simple_request())
    [body] = ollama_server.received("/api/chat")
    assert body["options"]["num_ctx"] == 2048


def test_a_prompt_the_server_cut_at_num_ctx_is_prompt_truncated(ollama_server: FakeOllamaServer) -> None:
    """The governor estimates 4 characters a token; text of one-letter words is two: the real count overflows."""
    settings = ExtractionSettings(fast_model=FAST, num_ctx=1024, max_output_tokens=128)
    dense = request_of([turn(i, "a " * 400) for i in range(3)])
    failure = failure_of(make(ollama_server, settings), dense)
    assert failure.error_class == "prompt_truncated"
    assert failure.usage[-1].tokens_in == 1024, "the usage record carries the server's count"


def test_a_prompt_count_far_off_the_estimate_is_a_mismatch_on_the_outcome(ollama_server: FakeOllamaServer) -> None:
    settings = ExtractionSettings(fast_model=FAST)
    outcome = make(ollama_server, settings).extract(request_of([turn(0, "a " * 2000)]))
    assert outcome.prompt_mismatch and any("prompt tokens: estimated" in w for w in outcome.warnings)
    assert not make(ollama_server, settings).extract(simple_request()).prompt_mismatch


def test_answers_are_repaired_and_invalid_turn_numbers_dropped_and_counted(ollama_server: FakeOllamaServer) -> None:
    item = {"text": "The user prefers dark mode", "subject": "user", "source_turns": [0, 7], "confidence": 0.95}
    answer = json.dumps({"facts": [item], "decisions": [], "next_steps": [], "errors": []})
    ollama_server.script.responder = lambda body: f"<think>easy</think>```json\n{answer}\n```"
    outcome = make(ollama_server, ExtractionSettings(fast_model=FAST)).extract(simple_request())
    [memory] = outcome.memories
    assert memory.source_turn_indexes == (0,) and memory.confidence == 0.9
    assert sorted(outcome.repairs) == ["code_fence", "confidence_number", "invalid_turn_index", "think_block"]
