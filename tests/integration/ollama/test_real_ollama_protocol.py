"""memlane against the real Ollama 0.17.4: structured chat, usage from the server's counts, and the error paths.

Each error text the fake server reproduces (`streams.testing.ollama_rules`) is asserted here against the real
server: if Ollama changes one, these tests fail and the fake is updated with them.
"""

from __future__ import annotations

import sys
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import ollama
import pytest
from real_ollama import RealOllama

from processors.extraction.contract import ExtractionError
from processors.extraction.extraction_settings import ExtractionSettings
from processors.extraction.ollama_extractor import OllamaExtractor
from processors.extraction.prompt import build_messages
from schemas.events import ExtractionRequest, Role, WindowTurn
from streams.testing.ollama_rules import INVALID_SCHEMA, SERVER_BUSY, model_not_found, option_type_error

pytestmark = pytest.mark.timeout(900)
T0 = datetime(2024, 3, 4, 9, 10, tzinfo=UTC)
HI = [{"role": "user", "content": "Say hi."}]


def window(request_id: str = "real-1") -> ExtractionRequest:
    said = ["I moved into a new flat in Lisbon on Saturday.", "I started a job at Solvane as a data engineer."]
    turns = tuple(
        WindowTurn(
            event_id=f"{request_id}-t{i}",
            turn_index=i,
            role=Role.USER,
            speaker="Maya",
            user_id="maya",
            content=text,
            token_count=len(text.split()),
            event_time=T0 + timedelta(seconds=30 * i),
        )
        for i, text in enumerate(said)
    )
    return ExtractionRequest(
        request_id=request_id,
        conversation_id="demo-1",
        tenant_id="default",
        user_id="maya",
        first_turn_index=0,
        last_turn_index=len(turns) - 1,
        turns=turns,
        priority=0.8,
        priority_class="fact",
        trigger="turn_count",
        token_count=sum(t.token_count for t in turns),
        created_at=T0,
    )


def test_structured_chat_answers_the_schema_and_usage_carries_the_server_counts(
    real_ollama: RealOllama, real_settings: ExtractionSettings
) -> None:
    extractor = OllamaExtractor.connect(real_ollama.url, real_settings)
    request = window()
    began = time.monotonic()
    try:
        outcome = extractor.extract(request)
        usage = outcome.usage[-1]
        print(f"\nreal chat: {len(outcome.memories)} memories, repairs {outcome.repairs}", file=sys.stderr)
    except ExtractionError as failure:  # a 135M model may be unsure: the answer still came back in the schema
        assert failure.error_class == "low_confidence", failure
        usage = failure.usage[-1]
    elapsed = time.monotonic() - began
    # the same prompt again, by hand, for one token: the server's own prompt count
    governed = extractor.governor.govern(request)
    options = extractor.options(request, real_ollama.model) | {"num_predict": 1}
    with ollama.Client(host=real_ollama.url, timeout=300) as client:
        direct = client.chat(
            model=real_ollama.model,
            messages=build_messages(request, governed),
            format=extractor.answer_format(request),
            options=options,
            stream=False,
        )
    assert usage.tokens_in == direct.prompt_eval_count and usage.tokens_in > 100
    assert 0 < usage.tokens_out <= extractor.options(request)["num_predict"], "an answer within its cap"
    assert usage.model == real_ollama.model and usage.latency_ms <= elapsed * 1000
    extractor.close()


def test_unknown_model_is_404_model_not_found(real_ollama: RealOllama, real_settings: ExtractionSettings) -> None:
    with ollama.Client(host=real_ollama.url, timeout=30) as client, pytest.raises(ollama.ResponseError) as caught:
        client.chat(model="no-such-model", messages=HI)
    assert (caught.value.status_code, caught.value.error) == (404, model_not_found("no-such-model"))
    settings = real_settings.model_copy(update={"fast_model": "no-such-model"})
    extractor = OllamaExtractor.connect(real_ollama.url, settings)
    with pytest.raises(ExtractionError) as failure:
        extractor.extract(window())
    assert failure.value.error_class == "model_not_found" and not failure.value.retriable
    extractor.close()


@pytest.mark.parametrize(
    ("extra", "text"),
    [
        ({"options": {"num_ctx": "abc"}}, option_type_error("num_ctx", "integer")),
        ({"options": {"temperature": "hot"}}, option_type_error("temperature", "float32")),
        ({"format": {"type": "objectx"}}, INVALID_SCHEMA),
    ],
)
def test_a_bad_option_or_format_is_a_500_that_memlane_reads_as_bad_request(
    real_ollama: RealOllama, extra: dict[str, object], text: str
) -> None:
    body = {"model": real_ollama.model, "messages": HI, "stream": False, **extra}
    reply = httpx.post(f"{real_ollama.url}/api/chat", json=body, timeout=60)
    assert (reply.status_code, reply.json()) == (500, {"error": text})
    from processors.extraction.ollama_errors import translate_error

    failure = translate_error(ollama.ResponseError(reply.json()["error"], 500), real_ollama.model)
    assert failure.error_class == "bad_request" and not failure.retriable


def test_unknown_options_are_accepted(real_ollama: RealOllama) -> None:
    body = {"model": real_ollama.model, "messages": HI, "stream": False, "options": {"bogus": 1, "num_predict": 4}}
    reply = httpx.post(f"{real_ollama.url}/api/chat", json=body, timeout=120)
    assert reply.status_code == 200 and reply.json()["done_reason"] == "length"


def _extract_at_once(server: RealOllama, settings: ExtractionSettings, count: int) -> list[str]:
    """`count` extractions sent together to a server that has just started (its model not loaded yet)."""
    server.restart()
    extractor = OllamaExtractor.connect(server.url, settings)
    with ThreadPoolExecutor(max_workers=count) as pool:
        futures = [pool.submit(extractor.extract, window(f"busy-{n}")) for n in range(count)]
        classes = []
        for future in futures:
            try:
                future.result()
                classes.append("ok")
            except ExtractionError as failure:
                classes.append(str(failure.error_class))
    extractor.close()
    return classes


def test_a_full_queue_is_503_server_busy_and_memlane_backs_off(ollama_bin: Path, tmp_path: Path) -> None:
    """Requests pile up in the queue while the model loads; past OLLAMA_MAX_QUEUE the server answers 503."""
    env = {"OLLAMA_NUM_PARALLEL": "1", "OLLAMA_MAX_QUEUE": "1"}
    with RealOllama(ollama_bin, tmp_path / "ollama", env=env) as server:
        body = {"model": server.model, "messages": HI, "stream": False, "options": {"num_predict": 8}}

        def call(_: int) -> tuple[int, str]:
            reply = httpx.post(f"{server.url}/api/chat", json=body, timeout=300)
            return reply.status_code, str(reply.json().get("error", ""))

        with ThreadPoolExecutor(max_workers=3) as pool:
            replies = list(pool.map(call, range(3)))
        busy = [reply for reply in replies if reply[0] == 503]
        assert busy and all(error == SERVER_BUSY for _, error in busy), replies
        assert any(status == 200 for status, _ in replies)

        quick = ExtractionSettings(fast_model=server.model, complex_model=server.model, max_output_tokens=64)
        no_retry = _extract_at_once(server, quick.model_copy(update={"busy_attempts": 1}), 3)
        backoff = _extract_at_once(server, quick.model_copy(update={"busy_attempts": 4, "busy_backoff_s": 1.0}), 3)
    print(f"\n503 under load: raw {[s for s, _ in replies]}, no retry {no_retry}, backoff {backoff}", file=sys.stderr)
    assert "overloaded" in no_retry, no_retry
    assert "overloaded" not in backoff, "with backoff every request gets its turn once the model is loaded"
