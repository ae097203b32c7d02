"""FakeAnthropicServer spoken to by the real `anthropic` client: tool use, errors, retries, outages."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any

import anthropic
import pydantic
import pytest
from anthropic.types import TextBlock, ToolUseBlock

from streams.testing.fake_anthropic import FakeAnthropicServer

KEY = "sk-test"
MODEL = "claude-test-1"
USER = [{"role": "user", "content": "I moved to Lisbon last spring"}]


class Memories(pydantic.BaseModel):
    memories: list[str]
    confidence: float = pydantic.Field(ge=0.5)


TOOL = {
    "name": "record_memories",
    "description": "Record memories",
    "input_schema": Memories.model_json_schema(),
}


@pytest.fixture
def server() -> Iterator[FakeAnthropicServer]:
    with FakeAnthropicServer(api_key=KEY, retry_after=0.05) as srv:
        yield srv
    assert [t for t in threading.enumerate() if t.name.startswith("fake-anthropic")] == []


def _client(server: FakeAnthropicServer, **kwargs: Any) -> anthropic.Anthropic:
    options: dict[str, Any] = {"api_key": KEY, "max_retries": 0, "timeout": 5.0} | kwargs
    return anthropic.Anthropic(base_url=server.url, **options)


@pytest.fixture
def client(server: FakeAnthropicServer) -> Iterator[anthropic.Anthropic]:
    with _client(server) as c:
        yield c


def _create(
    client: anthropic.Anthropic, *, max_tokens: int = 256, messages: Any = USER, **kwargs: Any
) -> anthropic.types.Message:
    message: anthropic.types.Message = client.messages.create(
        model=MODEL, max_tokens=max_tokens, messages=messages, **kwargs
    )
    return message


def test_forced_tool_answers_with_a_tool_use_block(server: FakeAnthropicServer, client: anthropic.Anthropic) -> None:
    message = _create(client, tools=[TOOL], tool_choice={"type": "tool", "name": "record_memories"})

    assert message.id.startswith("msg_") and message.type == "message" and message.role == "assistant"
    assert (message.model, message.stop_reason, message.stop_sequence) == (MODEL, "tool_use", None)
    block = message.content[0]
    assert isinstance(block, ToolUseBlock) and block.name == "record_memories" and block.id.startswith("toolu_")
    assert Memories.model_validate(block.input) == Memories(memories=[], confidence=0.5)
    assert message.usage.input_tokens > 6 and message.usage.output_tokens > 0
    assert server.received("/v1/messages")[-1]["tool_choice"] == {"type": "tool", "name": "record_memories"}


def test_tool_round_trip_with_a_custom_responder(server: FakeAnthropicServer, client: anthropic.Anthropic) -> None:
    server.script.tool_responder = lambda request: {"memories": ["lives in Lisbon"], "confidence": 0.9}
    first = _create(client, tools=[TOOL], tool_choice={"type": "tool", "name": "record_memories"})
    block = first.content[0]
    assert isinstance(block, ToolUseBlock)

    result = {"type": "tool_result", "tool_use_id": block.id, "content": "stored"}
    follow_up = [
        *USER,
        {"role": "assistant", "content": first.content},
        {"role": "user", "content": [result]},
    ]
    second = _create(client, messages=follow_up, tools=[TOOL])

    assert Memories.model_validate(block.input).memories == ["lives in Lisbon"]
    assert second.stop_reason == "end_turn" and isinstance(second.content[0], TextBlock)


def test_text_reply_counts_tokens_and_honours_max_tokens(
    server: FakeAnthropicServer, client: anthropic.Anthropic
) -> None:
    server.script.text_responder = lambda _: "one two three four"

    full = _create(client, system="you extract memories")
    cut = _create(client, max_tokens=2)

    assert (full.usage.input_tokens, full.usage.output_tokens, full.stop_reason) == (9, 4, "end_turn")
    assert isinstance(cut.content[0], TextBlock) and cut.content[0].text == "one two "
    assert cut.stop_reason == "max_tokens"


def test_rate_limit_surfaces_with_retry_after(server: FakeAnthropicServer, client: anthropic.Anthropic) -> None:
    server.fail_next(1, "rate_limit")

    with pytest.raises(anthropic.RateLimitError) as caught:
        _create(client)

    assert caught.value.status_code == 429 and caught.value.type == "rate_limit_error"
    assert caught.value.response.headers["retry-after"] == "0.05"
    assert caught.value.request_id and caught.value.request_id.startswith("req_")
    assert server.request_count() == 1 and server.error_count == 1


def test_rate_limit_is_retried_by_the_client(server: FakeAnthropicServer) -> None:
    server.fail_next(1, "rate_limit")

    with _client(server, max_retries=2) as retrying:
        message = _create(retrying)

    assert message.stop_reason == "end_turn"
    assert server.request_count("/v1/messages") == 2


def test_overloaded_is_a_529_overloaded_error(server: FakeAnthropicServer, client: anthropic.Anthropic) -> None:
    server.fail_next(1, "overloaded")

    with pytest.raises(anthropic.OverloadedError) as caught:
        _create(client)

    # In the installed client OverloadedError derives from InternalServerError.
    assert isinstance(caught.value, anthropic.InternalServerError)
    assert caught.value.status_code == 529 and caught.value.type == "overloaded_error"


def test_http_500_is_an_internal_server_error(server: FakeAnthropicServer, client: anthropic.Anthropic) -> None:
    server.fail_next(1, "http_500")

    with pytest.raises(anthropic.InternalServerError) as caught:
        _create(client)

    assert not isinstance(caught.value, anthropic.OverloadedError)
    assert caught.value.status_code == 500 and caught.value.type == "api_error"


def test_wrong_key_is_an_authentication_error(server: FakeAnthropicServer) -> None:
    with _client(server, api_key="sk-wrong") as wrong, pytest.raises(anthropic.AuthenticationError) as caught:
        _create(wrong)

    assert caught.value.status_code == 401 and caught.value.type == "authentication_error"


def test_x_api_key_header_is_accepted(server: FakeAnthropicServer, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("ANTHROPIC_API_KEY", raising=False)
    monkeypatch.delenv("ANTHROPIC_AUTH_TOKEN", raising=False)

    with _client(server, api_key=None, default_headers={"X-Api-Key": KEY}) as by_header:
        assert _create(by_header).stop_reason == "end_turn"


def test_missing_anthropic_version_is_a_bad_request(client: anthropic.Anthropic) -> None:
    with pytest.raises(anthropic.BadRequestError, match="anthropic-version"):
        _create(client, extra_headers={"anthropic-version": anthropic.omit})


def test_streaming_is_refused_cleanly(client: anthropic.Anthropic) -> None:
    with pytest.raises(anthropic.BadRequestError) as caught:
        _create(client, stream=True)

    assert caught.value.type == "invalid_request_error"


def test_timeout_failure_is_an_api_timeout_error(server: FakeAnthropicServer) -> None:
    server.fail_next(1, "timeout")

    with _client(server, timeout=0.2) as short, pytest.raises(anthropic.APITimeoutError):
        _create(short)


def test_refuse_failure_is_a_connection_error(server: FakeAnthropicServer, client: anthropic.Anthropic) -> None:
    server.fail_next(1, "refuse")

    with pytest.raises(anthropic.APIConnectionError):
        _create(client)
    assert _create(client).stop_reason == "end_turn"


def test_pause_and_resume_on_the_same_port(server: FakeAnthropicServer, client: anthropic.Anthropic) -> None:
    port = server.port
    server.pause()

    with pytest.raises(anthropic.APIConnectionError):
        _create(client)

    server.resume()
    assert server.port == port and _create(client).stop_reason == "end_turn"
