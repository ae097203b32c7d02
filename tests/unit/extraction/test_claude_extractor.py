"""The Claude fallback extractor against the fake Anthropic server, through the real `anthropic` client."""

from __future__ import annotations

import random
from collections.abc import Iterator, Mapping
from datetime import date

import anthropic
import pytest
from extraction_support import simple_request, window_result

from processors.extraction.budget import DailyBudget
from processors.extraction.claude_extractor import TOOL_NAME, ClaudeExtractor, retry_after_seconds
from processors.extraction.contract import ExtractionError
from processors.extraction.extraction_settings import ExtractionSettings
from processors.extraction.result import result_json_schema
from schemas.events import ExtractionRequest, MemoryKind
from streams.testing.fake_anthropic import FakeAnthropicServer

MESSAGES = "/v1/messages"
_OPEN: list[ClaudeExtractor] = []

# The default Claude model (from the brief) is on the installed SDK's deprecation list; the SDK warns per call.


def make(
    server: FakeAnthropicServer,
    settings: ExtractionSettings,
    *,
    api_key: str | None = "test-key",
    budget: DailyBudget | None = None,
    sleeps: list[float] | None = None,
    seed: int = 7,
) -> ClaudeExtractor:
    extractor = ClaudeExtractor(
        settings,
        api_key=api_key,
        base_url=server.url,
        budget=budget,
        sleep=(sleeps.append if sleeps is not None else lambda _: None),
        rng=random.Random(seed),
    )
    _OPEN.append(extractor)
    return extractor


@pytest.fixture(autouse=True)
def _close_extractors() -> Iterator[None]:
    yield
    while _OPEN:
        _OPEN.pop().close()


def failure_of(extractor: ClaudeExtractor, request: ExtractionRequest) -> ExtractionError:
    with pytest.raises(ExtractionError) as info:
        extractor.extract(request)
    return info.value


def test_tool_use_round_trip(anthropic_server: FakeAnthropicServer, settings: ExtractionSettings) -> None:
    budget = DailyBudget(1_000_000)
    outcome = make(anthropic_server, settings, budget=budget).extract(simple_request())

    assert (outcome.extractor, outcome.model) == ("claude", "claude-sonnet-4-6")
    [memory] = outcome.memories
    assert (memory.kind, memory.text, memory.source_turn_ids) == (MemoryKind.FACT, "Fact from turn 0", ("evt-0",))
    assert "extractor:claude" in memory.tags

    [body] = anthropic_server.received(MESSAGES)
    assert body["model"] == "claude-sonnet-4-6"
    assert body["tool_choice"]["type"] == "tool" and body["tool_choice"]["name"] == TOOL_NAME
    assert body["tools"][0]["input_schema"] == result_json_schema()
    assert body["max_tokens"] == settings.claude_max_tokens

    [usage] = outcome.usage
    assert usage.provider == "anthropic" and usage.outcome == "success" and usage.attempt == 1
    assert usage.tokens_in > 0 and usage.tokens_out > 0
    assert usage.cost_usd == pytest.approx(usage.tokens_in * 3e-6 + usage.tokens_out * 15e-6)
    assert budget.spent() == usage.tokens_in + usage.tokens_out
    assert budget.remaining() == 1_000_000 - budget.spent()  # the reservation was released


def test_rate_limit_honours_retry_after_then_succeeds(
    anthropic_server: FakeAnthropicServer, settings: ExtractionSettings
) -> None:
    anthropic_server.script.retry_after = 2.5
    anthropic_server.fail_next(2, "rate_limit")
    sleeps: list[float] = []
    outcome = make(anthropic_server, settings, sleeps=sleeps).extract(simple_request())

    assert outcome.memories
    assert sleeps == [2.5, 2.5]
    assert anthropic_server.request_count(MESSAGES) == 3
    assert [(u.attempt, u.outcome, u.error_class) for u in outcome.usage] == [
        (1, "failure", "rate_limited"),
        (2, "failure", "rate_limited"),
        (3, "success", None),
    ]


def test_retry_after_beyond_the_backoff_cap_gives_up(anthropic_server: FakeAnthropicServer) -> None:
    settings = ExtractionSettings(backoff_max_s=10.0)
    anthropic_server.script.retry_after = 60
    anthropic_server.fail_next(1, "rate_limit")
    sleeps: list[float] = []
    failure = failure_of(make(anthropic_server, settings, sleeps=sleeps), simple_request())
    assert failure.error_class == "rate_limited" and failure.retriable
    assert sleeps == []
    assert anthropic_server.request_count(MESSAGES) == 1


def test_overloaded_backs_off_exponentially_with_jitter_then_fails(anthropic_server: FakeAnthropicServer) -> None:
    settings = ExtractionSettings(backoff_base_s=1.0, backoff_max_s=3.0, backoff_attempts=4)
    anthropic_server.fail_next(4, "overloaded")
    sleeps: list[float] = []
    failure = failure_of(make(anthropic_server, settings, sleeps=sleeps), simple_request())

    assert failure.error_class == "overloaded" and failure.retriable
    assert isinstance(failure.__cause__, anthropic.OverloadedError)
    assert anthropic_server.request_count(MESSAGES) == 4
    assert [u.attempt for u in failure.usage] == [1, 2, 3, 4]
    ceilings = [1.0, 2.0, 3.0]  # base * 2**(n-1), capped at backoff_max_s
    assert len(sleeps) == 3
    for slept, ceiling in zip(sleeps, ceilings, strict=True):
        assert ceiling / 2 <= slept <= ceiling


def test_server_error_is_retried(anthropic_server: FakeAnthropicServer, settings: ExtractionSettings) -> None:
    anthropic_server.fail_next(1, "http_500")
    sleeps: list[float] = []
    outcome = make(anthropic_server, settings, sleeps=sleeps).extract(simple_request())
    assert outcome.memories and len(sleeps) == 1
    assert [u.error_class for u in outcome.usage] == ["server_error", None]


def test_budget_exhausted_makes_no_call(anthropic_server: FakeAnthropicServer, settings: ExtractionSettings) -> None:
    budget = DailyBudget(100)
    failure = failure_of(make(anthropic_server, settings, budget=budget), simple_request())
    assert failure.error_class == "budget_exhausted" and failure.retriable
    assert anthropic_server.request_count() == 0
    assert budget.spent() == 0


def test_budget_is_spent_across_calls_until_exhausted(anthropic_server: FakeAnthropicServer) -> None:
    settings = ExtractionSettings(claude_max_tokens=100)
    budget = DailyBudget(5_000, today=lambda: date(2025, 3, 1))
    extractor = make(anthropic_server, settings, budget=budget)
    calls = 0
    with pytest.raises(ExtractionError) as info:
        while True:
            extractor.extract(simple_request())
            calls += 1
    assert info.value.error_class == "budget_exhausted"
    assert calls >= 1 and anthropic_server.request_count(MESSAGES) == calls
    assert budget.spent() <= 5_000


def test_no_key_fails_without_any_call(anthropic_server: FakeAnthropicServer, settings: ExtractionSettings) -> None:
    failure = failure_of(make(anthropic_server, settings, api_key=None), simple_request())
    assert failure.error_class == "no_api_key" and not failure.retriable
    assert anthropic_server.request_count() == 0


def test_wrong_key_is_auth_error_and_not_retried(
    anthropic_server: FakeAnthropicServer, settings: ExtractionSettings
) -> None:
    sleeps: list[float] = []
    failure = failure_of(make(anthropic_server, settings, api_key="wrong", sleeps=sleeps), simple_request())
    assert failure.error_class == "auth_error" and not failure.retriable
    assert sleeps == [] and anthropic_server.request_count(MESSAGES) == 1


def test_unknown_model_is_model_not_found() -> None:
    settings = ExtractionSettings(claude_model="claude-nonexistent")
    with FakeAnthropicServer(api_key="test-key", models=["claude-sonnet-4-6"]) as server:
        failure = failure_of(make(server, settings), simple_request())
    assert failure.error_class == "model_not_found"


def test_timeout_and_refused_connection(anthropic_server: FakeAnthropicServer) -> None:
    settings = ExtractionSettings(claude_timeout_s=0.3, backoff_attempts=1)
    anthropic_server.fail_next(1, "timeout")
    assert failure_of(make(anthropic_server, settings), simple_request()).error_class == "timeout"
    anthropic_server.pause()
    assert failure_of(make(anthropic_server, settings), simple_request()).error_class == "connection_refused"
    anthropic_server.resume()


def test_tool_input_violating_the_schema(anthropic_server: FakeAnthropicServer, settings: ExtractionSettings) -> None:
    anthropic_server.script.tool_responder = lambda body: {"facts": "not a list"}
    failure = failure_of(make(anthropic_server, settings), simple_request())
    assert failure.error_class == "schema_violation"
    [usage] = failure.usage
    assert usage.outcome == "failure" and usage.error_class == "schema_violation" and usage.tokens_out > 0


def test_low_confidence_from_claude(anthropic_server: FakeAnthropicServer, settings: ExtractionSettings) -> None:
    anthropic_server.script.tool_responder = lambda body: window_result(body, confidence="low")
    assert failure_of(make(anthropic_server, settings), simple_request()).error_class == "low_confidence"


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        ({"retry-after-ms": "1500", "retry-after": "9"}, 1.5),
        ({"retry-after": "4"}, 4.0),
        ({"retry-after": "Sat, 01 Mar 2025 12:00:10 GMT"}, 10.0),
        ({"retry-after": "soon"}, None),
        ({}, None),
    ],
)
def test_retry_after_parsing(headers: Mapping[str, str], expected: float | None) -> None:
    now = 1740830400.0  # 2025-03-01 12:00:00 UTC
    assert retry_after_seconds(headers, now=lambda: now) == expected
