"""FakeOllamaServer spoken to by the real `ollama` client: protocol shapes, failures, parallelism, cleanup."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from typing import Any

import httpx
import ollama
import pydantic
import pytest

from streams.testing.fake_ollama import FakeModel, FakeOllamaServer
from streams.testing.ollama_rules import model_not_found

MODEL = "llama3.2:3b"


class Memory(pydantic.BaseModel):
    text: str
    kind: str
    importance: int = pydantic.Field(ge=1, le=5)


class Extraction(pydantic.BaseModel):
    memories: list[Memory]
    summary: str


SCHEMA = Extraction.model_json_schema()


def _server_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name.startswith("fake-ollama")]


@pytest.fixture
def server() -> Iterator[FakeOllamaServer]:
    with FakeOllamaServer(parallel=4) as srv:
        yield srv
    assert _server_threads() == []


@pytest.fixture
def client(server: FakeOllamaServer) -> Iterator[ollama.Client]:
    with ollama.Client(host=server.url, timeout=5.0) as c:
        yield c


MESSAGES = [
    {"role": "system", "content": "extract memories"},
    {"role": "user", "content": "I like green tea"},
]


def _chat(
    client: ollama.Client, *, format: dict[str, Any] | None = None, options: dict[str, Any] | None = None
) -> ollama.ChatResponse:
    return client.chat(model=MODEL, messages=MESSAGES, format=format, options=options)


def _stream(client: ollama.Client) -> list[ollama.ChatResponse]:
    return list(client.chat(model=MODEL, messages=MESSAGES, stream=True))


def test_chat_with_schema_format_returns_a_valid_document(server: FakeOllamaServer, client: ollama.Client) -> None:
    response = _chat(client, format=SCHEMA)

    doc = Extraction.model_validate_json(response.message.content or "")
    assert doc == Extraction(memories=[], summary="")
    assert server.received("/api/chat")[-1]["format"] == SCHEMA
    assert (response.model, response.message.role, response.done, response.done_reason) == (
        MODEL,
        "assistant",
        True,
        "stop",
    )
    assert response.prompt_eval_count == 6
    assert response.eval_count == len((response.message.content or "").split())
    assert response.total_duration and response.load_duration and response.eval_duration
    assert datetime.fromisoformat(response.created_at or "")


def test_responder_drives_content_and_token_counts(server: FakeOllamaServer, client: ollama.Client) -> None:
    seen: list[dict[str, Any]] = []

    def responder(request: dict[str, Any]) -> str:
        seen.append(request)
        return "one two three"

    server.script.responder = responder

    response = _chat(client, options={"temperature": 0})

    assert response.message.content == "one two three"
    assert (response.prompt_eval_count, response.eval_count) == (6, 3)
    assert seen[0]["options"] == {"temperature": 0}


def test_streaming_chat_sends_pieces_then_a_final_chunk_with_stats(
    server: FakeOllamaServer, client: ollama.Client
) -> None:
    server.script.responder = lambda _: "alpha beta  gamma"

    parts = _stream(client)

    assert "".join(p.message.content or "" for p in parts) == "alpha beta  gamma"
    assert [p.done for p in parts] == [False, False, False, True]
    assert parts[-1].done_reason == "stop" and parts[-1].eval_count == 3
    assert parts[0].eval_count is None


def test_num_predict_cuts_the_reply_with_done_reason_length(server: FakeOllamaServer, client: ollama.Client) -> None:
    server.script.responder = lambda _: "a b c d e"

    response = _chat(client, options={"num_predict": 2})

    assert (response.message.content, response.done_reason, response.eval_count) == ("a b ", "length", 2)


def test_generate_plain_and_streaming(client: ollama.Client) -> None:
    full = client.generate(model=MODEL, prompt="why is the sky blue", system="be brief")
    parts = list(client.generate(model=MODEL, prompt="why is the sky blue", stream=True))

    assert full.response == "".join(p.response or "" for p in parts)
    assert full.prompt_eval_count == 7 and full.context
    assert parts[-1].done and parts[-1].eval_count == full.eval_count


def test_tags_list_models_with_real_fields(client: ollama.Client) -> None:
    models = client.list().models

    names = [m.model for m in models]
    assert names == ["llama3.2:3b", "qwen2.5:7b", "nomic-embed-text:latest"]
    first = models[0]
    assert first.details and first.details.format == "gguf" and first.details.quantization_level == "Q4_K_M"
    assert first.size and first.modified_at and len(first.digest or "") == 64


def test_embed_is_deterministic_and_unit_length(client: ollama.Client) -> None:
    first = client.embed(model="nomic-embed-text", input=["tea", "coffee"])
    again = client.embed(model="nomic-embed-text", input="tea")
    short = client.embed(model="nomic-embed-text", input="tea", dimensions=8)

    assert len(first.embeddings) == 2 and len(first.embeddings[0]) == 768
    assert first.embeddings[0] == again.embeddings[0] != first.embeddings[1]
    assert abs(sum(v * v for v in first.embeddings[0]) - 1.0) < 1e-9
    assert len(short.embeddings[0]) == 8 and first.prompt_eval_count == 2


def test_version_and_root(server: FakeOllamaServer) -> None:
    # The ollama client has no version() call; it is plain httpx underneath.
    assert httpx.get(f"{server.url}/api/version").json() == {"version": "0.17.4"}
    assert httpx.get(server.url).text == "Ollama is running"


def test_unknown_model_is_a_404_response_error(client: ollama.Client) -> None:
    with pytest.raises(ollama.ResponseError) as caught:
        client.chat(model="mistral", messages=[{"role": "user", "content": "hi"}])

    assert caught.value.status_code == 404
    assert caught.value.error == model_not_found("mistral") == "model 'mistral' not found"


def test_embedding_model_cannot_chat(client: ollama.Client) -> None:
    with pytest.raises(ollama.ResponseError) as caught:
        client.chat(model="nomic-embed-text", messages=[{"role": "user", "content": "hi"}])

    assert caught.value.status_code == 400


def test_http_500_failure_then_recovery(server: FakeOllamaServer, client: ollama.Client) -> None:
    server.fail_next(1, "http_500")

    with pytest.raises(ollama.ResponseError) as caught:
        _chat(client)
    assert caught.value.status_code == 500 and "llama runner" in caught.value.error
    assert _chat(client).done
    assert server.error_count == 1 and server.script.injected() == {"http_500": 1}


def test_malformed_json_failure(server: FakeOllamaServer, client: ollama.Client) -> None:
    server.fail_next(1, "malformed_json")

    content = _chat(client, format=SCHEMA).message.content or ""

    with pytest.raises(json.JSONDecodeError):
        json.loads(content)
    Extraction.model_validate_json(_chat(client, format=SCHEMA).message.content or "")


def test_schema_violation_failure_is_valid_json(server: FakeOllamaServer, client: ollama.Client) -> None:
    server.fail_next(1, "schema_violation")

    content = _chat(client, format=SCHEMA).message.content or ""

    assert isinstance(json.loads(content), dict)
    with pytest.raises(pydantic.ValidationError):
        Extraction.model_validate_json(content)


def test_timeout_failure_raises_the_httpx_timeout(server: FakeOllamaServer) -> None:
    server.fail_next(1, "timeout")

    with ollama.Client(host=server.url, timeout=0.2) as short, pytest.raises(httpx.TimeoutException):
        _chat(short)


def test_refuse_failure_resets_the_connection(server: FakeOllamaServer, client: ollama.Client) -> None:
    server.fail_next(1, "refuse")

    with pytest.raises(httpx.TransportError):
        _chat(client)
    assert _chat(client).done


def test_pause_refuses_connections_and_resume_keeps_the_port(server: FakeOllamaServer, client: ollama.Client) -> None:
    port = server.port
    server.pause()

    with pytest.raises(ConnectionError):
        _chat(client)

    server.resume()
    assert server.port == port
    assert _chat(client).done


def test_parallelism_caps_concurrent_calls(server: FakeOllamaServer, client: ollama.Client) -> None:
    server.script.parallel, server.script.latency = 2, 0.2

    with ThreadPoolExecutor(max_workers=6) as pool:
        replies = list(pool.map(lambda _: _chat(client), range(6)))

    assert all(r.done for r in replies)
    assert server.max_concurrency == 2
    assert server.request_count("/api/chat") == 6


def test_stop_releases_a_hanging_request_and_its_threads() -> None:
    errors: list[BaseException] = []
    srv = FakeOllamaServer([FakeModel(MODEL)], hang_seconds=60).start()
    srv.fail_next(1, "timeout")

    def call() -> None:
        with ollama.Client(host=srv.url, timeout=10) as c:
            try:
                _chat(c)
            except Exception as exc:
                errors.append(exc)

    caller = threading.Thread(target=call)
    caller.start()
    time.sleep(0.1)
    srv.stop()
    caller.join(5)

    assert not caller.is_alive() and len(errors) == 1
    assert _server_threads() == []


def test_unknown_failure_kind_is_rejected(server: FakeOllamaServer) -> None:
    with pytest.raises(ValueError, match="unknown failure kind"):
        server.fail_next(1, "explode")  # type: ignore[arg-type]
