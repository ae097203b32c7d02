"""Extraction on the real broker with our Ollama and Anthropic servers: breaker, DLQ, Claude fallback, redrive.

Scenario 1: Ollama stops mid-stream -> the breaker opens, the DLQ fills, the fallback drains it to Claude,
and every request ends as exactly one memory batch (by id).
Scenario 2: Claude is down too -> requests stay parked and counted; after recovery a redrive accounts for all.
"""

from __future__ import annotations

import json
import re
import threading
import time
from collections import defaultdict
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from pydantic import SecretStr
from typer.testing import CliRunner

from processors.extraction import HeuristicExtractor
from processors.extraction.ollama_extractor import OllamaExtractor
from schemas.codec import SingleObjectCodec
from schemas.events import ExtractionRequest, MemoryBatch, Role, UsageRecord, WindowTurn
from streams.cli import app
from streams.dlq import dlq_status, redrive
from streams.dlq_report import dlq_report
from streams.kafka.consumer import read_topic
from streams.kafka.headers import ErrorInfo
from streams.kafka.parking import message_headers
from streams.kafka.producer import ReliableProducer
from streams.metrics import CLAUDE_BUDGET_LIMIT, CLAUDE_BUDGET_REMAINING
from streams.settings import Settings
from streams.testing.fake_anthropic import FakeAnthropicServer
from streams.testing.fake_ollama import FakeOllamaServer
from streams.wiring.workers import run_extract, run_fallback

FAST, COMPLEX = "qwen2.5:7b-instruct", "qwen2.5:32b-instruct"
KEY = "sk-test-memlane"
T0 = datetime(2025, 6, 1, 9, 0, tzinfo=UTC)
TURN_LINE = re.compile(r"^\[turn (\d+) role=(\w+)[^\n]*\]\n(.*)$", re.MULTILINE)


def _facts(body: dict[str, Any]) -> dict[str, Any]:
    user = next(m for m in body["messages"] if m["role"] == "user")["content"]
    facts = [
        {"text": f"The user said: {text.strip()}", "subject": "user", "source_turns": [int(n)], "confidence": "high"}
        for n, role, text in TURN_LINE.findall(user)
        if role == "user"
    ]
    return {"facts": facts, "decisions": [], "next_steps": [], "errors": []}


def _requests(count: int) -> list[ExtractionRequest]:
    out = []
    for n in range(count):
        turns = tuple(
            WindowTurn(
                event_id=f"evt-{n}-{i}",
                turn_index=i,
                role=Role.USER if i % 2 == 0 else Role.ASSISTANT,
                content=f"Request {n} turn {i}: I keep {n * 7 + i} plants on my balcony.",
                token_count=12,
                event_time=T0 + timedelta(minutes=n, seconds=i),
            )
            for i in range(3)
        )
        out.append(
            ExtractionRequest(
                request_id=f"req-{n:03d}",
                conversation_id=f"conv-{n % 4}",
                tenant_id="acme",
                user_id=f"user-{n % 4}",
                first_turn_index=0,
                last_turn_index=2,
                turns=turns,
                priority=0.5,
                priority_class="fact",
                trigger="turn_count",
                token_count=36,
                created_at=T0,
            )
        )
    return out


def _publish(settings: Settings, requests: list[ExtractionRequest]) -> None:
    codec, producer = SingleObjectCodec(), ReliableProducer(settings.kafka)
    for request in requests:
        producer.send(settings.topics.requests, codec.encode(request), key=request.conversation_id.encode())
    producer.flush()


def _batches(settings: Settings, *, require_memories: bool = True) -> dict[str, set[tuple[str, str]]]:
    codec = SingleObjectCodec()
    found: dict[str, set[tuple[str, str]]] = defaultdict(set)
    for message in read_topic(settings.kafka, settings.topics.memories):
        batch = codec.decode(message.value(), MemoryBatch)
        found[batch.request_id].add((batch.batch_id, batch.extractor))
        assert batch.memories or not require_memories, "a batch carries memories"
    return found


def _configure(settings: Settings, ollama: FakeOllamaServer, claude: FakeAnthropicServer) -> Settings:
    extraction = settings.extraction.model_copy(
        update={
            "fast_model": FAST,
            "complex_model": COMPLEX,
            "request_timeout_s": 2.0,
            "ollama_parallelism": 2,
            "worker_batch_size": 4,
            "breaker_failure_threshold": 5,
            "breaker_cooldown_s": 300.0,
            "fallback_park_cooldown_s": 0.5,
            "backoff_attempts": 2,
            "backoff_base_s": 0.05,
            "backoff_max_s": 0.2,
            "worker_group_id": f"extract-{settings.topics.turns}",
            "fallback_group_id": f"fallback-{settings.topics.turns}",
        }
    )
    return settings.model_copy(
        update={
            "extractor": "ollama",
            "ollama_url": ollama.url,
            "anthropic_api_key": SecretStr(KEY),
            "anthropic_base_url": claude.url,
            "extraction": extraction,
        }
    )


def _stop_ollama_after(server: FakeOllamaServer, served: int) -> threading.Thread:
    def watch() -> None:
        deadline = time.monotonic() + 60
        while server.request_count("/api/chat") < served and time.monotonic() < deadline:
            time.sleep(0.01)
        server.pause()

    thread = threading.Thread(target=watch, daemon=True)
    thread.start()
    return thread


@pytest.fixture
def servers() -> Any:
    with (
        FakeOllamaServer([FAST, COMPLEX], latency=0.02, parallel=2, hang_seconds=3.0) as ollama,
        FakeAnthropicServer(api_key=KEY, tool_responder=_facts, latency=0.01) as claude,
    ):
        ollama.script.responder = lambda body: json.dumps(_facts(body))
        yield ollama, claude


def test_ollama_down_mid_stream_is_drained_to_claude(kafka_settings: Settings, servers: Any, tmp_path: Path) -> None:
    ollama, claude = servers
    settings = _configure(kafka_settings, ollama, claude)
    requests = _requests(30)
    _publish(settings, requests)
    watcher = _stop_ollama_after(ollama, served=10)

    extractor = OllamaExtractor.connect(settings.ollama_url, settings.extraction)
    counts = run_extract(settings, idle_exit_s=3.0, extractor=extractor)
    watcher.join()
    assert extractor.breaker.state.value == "open", "five consecutive failures open the breaker"
    assert 0 < counts.extracted < 30 and counts.dead_lettered == 30 - counts.extracted
    calls_while_down = ollama.request_count("/api/chat")
    assert calls_while_down <= 10 + 5 + 2, "while open, requests go to the DLQ without calling Ollama"

    parked = dlq_status(settings.kafka, settings.topics.dlq, settings.extraction.fallback_group_id)
    assert parked.parked == counts.dead_lettered
    # up to 5 failures open the breaker, plus the calls in flight (parallelism 2) when Ollama went away
    assert parked.by_class["circuit_open"] >= counts.dead_lettered - 5 - 2 > 0
    dlq_headers = [ErrorInfo.from_headers(message_headers(m)) for m in read_topic(settings.kafka, settings.topics.dlq)]
    assert all(
        h and h.topic == settings.topics.requests and h.offset >= 0 and h.stage == "extract" for h in dlq_headers
    )

    taxonomy = dlq_report(settings.stream_context(), settings.extraction.fallback_group_id)
    assert (taxonomy.requests, taxonomy.parked, taxonomy.drained) == (30, counts.dead_lettered, 0)
    assert taxonomy.dlq_rate_per_1000() == pytest.approx(1000 * counts.dead_lettered / 30)
    by_model = {(row["model"], row["error_class"]) for row in taxonomy.failure_rows()}
    assert ("ollama", "circuit_open") in by_model, "no model was called: charged to the extractor"
    assert all(model in ("ollama", FAST) for model, _ in by_model)

    drained = run_fallback(settings, idle_exit_s=3.0)
    assert drained.extracted == counts.dead_lettered
    assert dlq_status(settings.kafka, settings.topics.dlq, settings.extraction.fallback_group_id).parked == 0
    taxonomy = dlq_report(settings.stream_context(), settings.extraction.fallback_group_id)
    assert (taxonomy.parked, taxonomy.drained) == (0, counts.dead_lettered)
    [claude_calls] = [row for row in taxonomy.call_rows() if row["provider"] == "anthropic"]
    assert claude_calls["calls"] == counts.dead_lettered and claude_calls["failed"] == 0
    assert claude_calls["cost_usd"] > 0
    limit = settings.extraction.daily_token_budget
    assert limit and CLAUDE_BUDGET_LIMIT._value.get() == limit, "the fallback shows its budget on /metrics"
    assert 0 <= CLAUDE_BUDGET_REMAINING._value.get() < limit, "and what the drained requests spent of it"
    [local] = [row for row in taxonomy.call_rows() if row["provider"] == "ollama"]
    assert local["calls"] - local["failed"] == counts.extracted and local["failed"] >= 1

    batches = _batches(settings)
    assert sorted(batches) == [r.request_id for r in requests], "every request ends as memories"
    assert all(len(ids) == 1 for ids in batches.values()), "exactly one memory batch per request (by id)"
    extractors = [next(iter(ids))[1] for ids in batches.values()]
    assert extractors.count("claude") == counts.dead_lettered and extractors.count("ollama") == counts.extracted

    codec = SingleObjectCodec()
    usage = [codec.decode(m.value(), UsageRecord) for m in read_topic(settings.kafka, settings.topics.usage)]
    ok_local = [u for u in usage if u.provider == "ollama" and u.outcome == "success"]
    cloud = [u for u in usage if u.provider == "anthropic" and u.outcome == "success"]
    assert len(ok_local) == counts.extracted and all(u.tokens_in > 0 and u.tokens_out > 0 for u in ok_local)
    assert len(cloud) == counts.dead_lettered and all(u.cost_usd > 0 for u in cloud)


def test_claude_down_too_parks_then_redrive_accounts_for_all(
    kafka_settings: Settings, servers: Any, tmp_path: Path
) -> None:
    ollama, claude = servers
    settings = _configure(kafka_settings, ollama, claude)
    requests = _requests(16)
    ollama.pause()
    claude.pause()
    _publish(settings, requests)

    counts = run_extract(
        settings, idle_exit_s=2.0, extractor=OllamaExtractor.connect(settings.ollama_url, settings.extraction)
    )
    assert counts.dead_lettered == 16 and counts.extracted == 0

    stuck = run_fallback(settings, idle_exit_s=2.0)
    assert stuck.extracted == 0 and stuck.waits >= 1
    parked = dlq_status(settings.kafka, settings.topics.dlq, settings.extraction.fallback_group_id)
    assert parked.parked == 16, "nothing is dropped while Claude is down"
    assert sum(parked.by_class.values()) == 16
    shown = CliRunner().invoke(app, ["dlq", "report", "--json"], env=settings.to_env())
    assert shown.exit_code == 0, shown.output
    report = json.loads(shown.output)
    assert (report["requests"], report["dead_lettered_requests"], report["parked"]) == (16, 16, 16)
    assert report["dlq_rate_per_1000"] == 1000.0
    assert {row["model"] for row in report["failures"]} <= {FAST, "ollama"}
    table = CliRunner().invoke(app, ["dlq", "report"], env={**settings.to_env(), "COLUMNS": "200"})
    assert table.exit_code == 0 and "per 1,000 requests" in table.output, table.output

    ollama.resume()
    moved = redrive(
        settings.kafka, settings.topics.dlq, settings.topics.requests, settings.extraction.fallback_group_id
    )
    assert moved.parked == 16
    assert dlq_status(settings.kafka, settings.topics.dlq, settings.extraction.fallback_group_id).parked == 0
    again = run_extract(
        settings, idle_exit_s=3.0, extractor=OllamaExtractor.connect(settings.ollama_url, settings.extraction)
    )
    assert again.extracted == 16 and again.dead_lettered == 0

    batches = _batches(settings)
    assert sorted(batches) == [r.request_id for r in requests]
    assert all(len(ids) == 1 and next(iter(ids))[1] == "ollama" for ids in batches.values())


def test_undecodable_request_is_quarantined_and_the_stream_goes_on(kafka_settings: Settings) -> None:
    settings = kafka_settings.model_copy(update={"extractor": "heuristic"})
    producer = ReliableProducer(settings.kafka)
    producer.send(settings.topics.requests, b"\x00garbage", key=b"conv-x")
    producer.flush()
    _publish(settings, _requests(3))
    counts = run_extract(settings, idle_exit_s=2.0, extractor=HeuristicExtractor())
    assert counts.quarantined == 1
    quarantined = list(read_topic(settings.kafka, settings.topics.quarantine))
    assert [m.value() for m in quarantined] == [b"\x00garbage"]
    info = ErrorInfo.from_headers(message_headers(quarantined[0]))
    assert info is not None and info.stage == "extract.decode" and info.error_class == "MalformedMessageError"
    batches = _batches(settings, require_memories=False)
    assert len(batches) == 3 and all(next(iter(ids))[1] == "heuristic" for ids in batches.values())
