"""The fake Ollama does what the real server (0.17.4) does, each behaviour pinned to the real server's texts.

The same texts (`streams.testing.ollama_rules`) are asserted against the real server in
`tests/integration/ollama/`, so a fake that drifts from the real server fails one side or the other.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
import ollama
import pytest

from streams.testing.fake_ollama import FakeOllamaServer
from streams.testing.ollama_rules import (
    DEFAULT_NUM_CTX,
    INVALID_SCHEMA,
    RUNNER_STOPPED,
    SERVER_BUSY,
    invalid_format,
    model_not_found,
    option_type_error,
)

MODEL = "llama3.2:3b"
HI = [{"role": "user", "content": "hi"}]


@pytest.fixture
def server() -> Iterator[FakeOllamaServer]:
    with FakeOllamaServer([MODEL], load_seconds=0.0) as srv:
        yield srv


def refused(server: FakeOllamaServer, **call: Any) -> ollama.ResponseError:
    with ollama.Client(host=server.url, timeout=5) as client, pytest.raises(ollama.ResponseError) as caught:
        client.chat(model=call.pop("model", MODEL), messages=HI, **call)
    return caught.value


def test_an_unknown_model_is_404_with_the_real_text(server: FakeOllamaServer) -> None:
    error = refused(server, model="mistral")
    assert (error.status_code, error.error) == (404, model_not_found("mistral"))


@pytest.mark.parametrize(
    ("call", "text"),
    [
        ({"format": {"type": "objectx"}}, INVALID_SCHEMA),
        ({"format": "yaml"}, invalid_format("yaml")),
        ({"options": {"num_ctx": "abc"}}, option_type_error("num_ctx", "integer")),
        ({"options": {"temperature": "hot"}}, option_type_error("temperature", "float32")),
        ({"format": {"type": "object", "properties": {"s": {"type": "string", "maxLength": 4000}}}}, RUNNER_STOPPED),
    ],
)
def test_a_bad_format_or_option_type_is_a_500_naming_it(
    server: FakeOllamaServer, call: dict[str, Any], text: str
) -> None:
    # plain HTTP: the ollama client itself refuses a format such as "yaml" before sending it
    reply = httpx.post(f"{server.url}/api/chat", json={"model": MODEL, "messages": HI, "stream": False, **call})
    assert (reply.status_code, reply.json()) == (500, {"error": text})


def test_unknown_options_are_accepted(server: FakeOllamaServer) -> None:
    with ollama.Client(host=server.url, timeout=5) as client:
        assert client.chat(model=MODEL, messages=HI, options={"bogus": 1}).done


def test_a_prompt_over_num_ctx_is_cut_silently_with_the_system_prompt_lost(server: FakeOllamaServer) -> None:
    seen: list[list[str]] = []
    server.script.responder = lambda body: seen.append([m["role"] for m in body["messages"]]) or "ok"
    long = [{"role": "system", "content": "be terse"}, {"role": "user", "content": "word " * 700}]
    with ollama.Client(host=server.url, timeout=5) as client:
        cut = client.chat(model=MODEL, messages=long, options={"num_ctx": 512})
        whole = client.chat(model=MODEL, messages=long)  # the default context (4096) holds it
    assert (cut.done_reason, cut.prompt_eval_count) == ("stop", 512)
    assert whole.prompt_eval_count == 702 < DEFAULT_NUM_CTX
    assert seen == [["user"], ["system", "user"]]


def test_one_call_at_a_time_and_the_queue_wait_counts_against_the_client_timeout(server: FakeOllamaServer) -> None:
    server.script.latency = 0.6

    def call(_: int) -> str:
        with ollama.Client(host=server.url, timeout=1.0) as client:
            try:
                client.chat(model=MODEL, messages=HI)
            except httpx.TimeoutException:
                return "timeout"
        return "ok"

    with ThreadPoolExecutor(max_workers=2) as pool:
        outcomes = sorted(pool.map(call, range(2)))
    assert outcomes == ["ok", "timeout"], "the second call waited 0.6 s in the queue, then 0.6 s served"
    assert server.max_concurrency == 1


def test_a_full_queue_answers_503_server_busy() -> None:
    with FakeOllamaServer([MODEL], latency=1.5, max_queue=1, load_seconds=0.0) as server:

        def call(_: int) -> str:
            with ollama.Client(host=server.url, timeout=5) as client:
                try:
                    client.chat(model=MODEL, messages=HI)
                except ollama.ResponseError as exc:
                    return f"{exc.status_code} {exc.error}"
            return "ok"

        with ThreadPoolExecutor(max_workers=3) as pool:
            first = pool.submit(call, 0)
            time.sleep(0.3)  # served
            second = pool.submit(call, 1)
            time.sleep(0.3)  # queued
            third = pool.submit(call, 2)
            results = [first.result(), second.result(), third.result()]
    assert results == ["ok", "ok", f"503 {SERVER_BUSY}"]


def test_the_model_loads_on_the_first_call_and_on_a_num_ctx_change() -> None:
    with FakeOllamaServer([MODEL], load_seconds=0.3) as server, ollama.Client(host=server.url, timeout=5) as client:
        began = time.monotonic()
        first = client.chat(model=MODEL, messages=HI)
        waited = time.monotonic() - began
        again = client.chat(model=MODEL, messages=HI)
        bigger = client.chat(model=MODEL, messages=HI, options={"num_ctx": 8192})
    assert waited >= 0.3 and (first.load_duration or 0) >= 300_000_000, "the first call waits for the load"
    assert (again.load_duration or 0) < 10_000_000
    assert (bigger.load_duration or 0) >= 300_000_000 and server.loads == 2


def test_calls_during_a_load_wait_for_it_without_an_error() -> None:
    with FakeOllamaServer([MODEL], parallel=2, load_seconds=0.3) as server:

        def call(_: int) -> int:
            with ollama.Client(host=server.url, timeout=5) as client:
                return client.chat(model=MODEL, messages=HI).load_duration or 0

        with ThreadPoolExecutor(max_workers=2) as pool:
            loads = sorted(pool.map(call, range(2)))
    assert server.loads == 1 and loads[-1] >= 300_000_000
