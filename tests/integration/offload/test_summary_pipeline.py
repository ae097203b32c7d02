"""Hierarchical summaries on the real broker with our Ollama and Anthropic servers and the real memory sink.

One conversation of 25 turns in five windows goes through extract (heuristic), summarise (the fake Ollama)
and the memory sink: five level-1 summaries and two level-2 ones (blocks 0..9 and 10..19; block 20..29 stays
open). A rerun of the summarise worker from the start (a new group) adds no id. After these restarts the open
block's state is read back: the window 25..29 closes block 20..29 with both its windows. A level-3 compaction asked
through the API, with the fake Ollama failing, goes to the DLQ (stage summarise), the fallback asks the fake
Anthropic server (through the real `anthropic` client) and its summary, under the local one's id, is what
`GET /v1/summaries/{id}` and `memlane summary` return. `memlane verify`'s accounting holds throughout.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient
from pydantic import SecretStr
from typer.testing import CliRunner

from processors.offload.summaries import CLAUDE_SUMMARISER, SUMMARISER, Summariser, summary_memory_id
from schemas.codec import SingleObjectCodec
from schemas.events import ExtractionRequest, MemoryBatch, Role, UsageRecord, WindowTurn
from schemas.keys import conversation_key
from sinks.embeddings import shared_onnx_embedder
from sinks.memory_store import EdgeMemoryStore
from streams.cli import app as cli
from streams.kafka.consumer import read_topic
from streams.kafka.headers import ErrorInfo
from streams.kafka.parking import message_headers
from streams.kafka.producer import ReliableProducer
from streams.settings import Settings
from streams.testing.fake_anthropic import FakeAnthropicServer
from streams.testing.fake_ollama import FakeOllamaServer
from streams.verifier import verify
from streams.wiring.groups import verifier_groups
from streams.wiring.stores import search_app
from streams.wiring.workers import run_extract, run_fallback, run_sink_qdrant, run_summarise

FAST = "qwen2.5:7b-instruct"
KEY = "sk-test-memlane"
ACME = {"Authorization": "Bearer k-acme"}
T0 = datetime(2025, 6, 1, 9, 0, tzinfo=UTC)
CONVERSATION = "trip-chat"


def _summary(body: dict[str, Any]) -> str:
    header = body["messages"][-1]["content"].splitlines()[0]
    return json.dumps({"summary": f"Local summary of {header} Ana and Bruno plan a trip to Lisbon."})


def _claude(body: dict[str, Any]) -> dict[str, Any]:
    return {"summary": "Claude compaction: Ana and Bruno planned a June trip to Lisbon over 25 turns."}


def _windows() -> list[ExtractionRequest]:
    return [_window(n * 5, n * 5 + 4) for n in range(5)]


def _window(first: int, last: int) -> ExtractionRequest:
    turns = tuple(
        WindowTurn(
            event_id=f"evt-{i}",
            turn_index=i,
            role=Role.USER if i % 2 == 0 else Role.ASSISTANT,
            speaker="Ana" if i % 2 == 0 else "Bruno",
            user_id="ana" if i % 2 == 0 else "bruno",
            content=f"Turn {i}: I would like to visit Lisbon in June, day {i}.",
            token_count=14,
            event_time=T0 + timedelta(minutes=i),
        )
        for i in range(first, last + 1)
    )
    return ExtractionRequest(
        request_id=f"req-{first}-{last}",
        conversation_id=CONVERSATION,
        tenant_id="acme",
        user_id="ana",
        first_turn_index=first,
        last_turn_index=last,
        turns=turns,
        priority=0.5,
        priority_class="fact",
        trigger="turn_count",
        token_count=70,
        created_at=T0,
    )


def _publish(settings: Settings, requests: list[ExtractionRequest]) -> None:
    codec, producer = SingleObjectCodec(), ReliableProducer(settings.kafka)
    for request in requests:
        key = conversation_key(request.tenant_id, request.conversation_id).encode()
        producer.send(settings.topics.requests, codec.encode(request), key=key)
    producer.flush()
    producer.close()


def _batches(settings: Settings) -> list[MemoryBatch]:
    codec = SingleObjectCodec()
    return [codec.decode(m.value() or b"", MemoryBatch) for m in read_topic(settings.kafka, settings.topics.memories)]


def _configure(settings: Settings, tmp_path: Path, ollama: FakeOllamaServer, claude: FakeAnthropicServer) -> Settings:
    topics = settings.topics.turns
    extraction = settings.extraction.model_copy(
        update={
            "fast_model": FAST,
            "complex_model": FAST,
            "worker_group_id": f"extract-{topics}",
            "fallback_group_id": f"fallback-{topics}",
            "fallback_park_cooldown_s": 0.5,
            "backoff_attempts": 1,
        }
    )
    summary = settings.summary.model_copy(update={"group_id": f"summarise-{topics}", "timeout_s": 3.0})
    sinks = settings.sinks.model_copy(
        update={"qdrant_path": tmp_path / "qdrant", "qdrant_sink_group_id": f"sink-{topics}"}
    )
    return settings.model_copy(
        update={
            "extractor": "heuristic",
            "ollama_url": ollama.url,
            "anthropic_api_key": SecretStr(KEY),
            "anthropic_base_url": claude.url,
            "extraction": extraction,
            "summary": summary,
            "sinks": sinks,
            "api_keys": {"k-acme": "acme", "k-globex": "globex"},
            "tenant_id": "acme",
        }
    )


def _summarise(settings: Settings, ollama: FakeOllamaServer) -> Any:
    task = Summariser.connect(ollama.url, FAST, settings.summary)
    try:
        return run_summarise(settings, idle_exit_s=1.5, summariser=task)
    finally:
        task.close()


def _store(settings: Settings) -> EdgeMemoryStore:
    return EdgeMemoryStore(settings.sinks.qdrant_path / settings.sinks.collection, shared_onnx_embedder())


def test_levels_one_and_two_replay_and_a_level_three_compaction_through_claude(
    kafka_settings: Settings, tmp_path: Path, new_group_id: Callable[[str], str]
) -> None:
    with (
        FakeOllamaServer([FAST], responder=_summary, hang_seconds=3.0) as ollama,
        FakeAnthropicServer(api_key=KEY, tool_responder=_claude) as claude,
    ):
        settings = _configure(kafka_settings, tmp_path, ollama, claude)
        _publish(settings, _windows())
        extracted = run_extract(settings, idle_exit_s=1.5)
        assert extracted.extracted == 5 and extracted.left == 0
        counts = _summarise(settings, ollama)
        assert counts.summaries == {1: 5, 2: 2} and counts.failures == {}
        sunk = run_sink_qdrant(settings, idle_exit_s=1.5)
        summaries = [b for b in _batches(settings) if b.extractor == SUMMARISER]
        assert len(summaries) == 7
        block = next(b for b in summaries if b.memories[0].summary_level == 2)
        assert (block.lineage.first_turn_index, block.lineage.last_turn_index) == (0, 9)
        assert block.memories[0].user_ids == ("ana", "bruno") and block.memories[0].source_turn_indexes == tuple(
            range(10)
        )
        stored_ids = {m.memory_id for b in summaries for m in b.memories}
        assert summary_memory_id("acme", CONVERSATION, 2, 10, 19) in stored_ids

        # a rerun from the start (another group, blocks read back from the compacted topic): no new id
        rerun = settings.model_copy(
            update={"summary": settings.summary.model_copy(update={"group_id": new_group_id("summarise")})}
        )
        again = _summarise(rerun, ollama)
        assert again.summaries == {1: 5} and again.restores == 1, "closed blocks are not summarised again"
        resunk = run_sink_qdrant(settings, idle_exit_s=1.5)
        assert resunk.inserted == 0 and sunk.inserted >= 7

        # the open block 20..29 survived the restarts: the next window closes it with both windows' summaries
        _publish(settings, [_window(25, 29)])
        assert run_extract(settings, idle_exit_s=1.5).extracted == 1
        closing = _summarise(settings, ollama)
        assert closing.summaries == {1: 1, 2: 1} and closing.restores == 1
        (block2,) = [
            b for b in _batches(settings) if b.memories[0].summary_level == 2 and b.lineage.first_turn_index == 20
        ]
        assert block2.memories[0].source_turn_indexes == tuple(range(20, 30))
        run_sink_qdrant(settings, idle_exit_s=1.5)

        # level 3: the local model fails -> DLQ -> Claude, under the same id
        with TestClient(search_app(settings)) as client:
            asked = client.post(f"/v1/summaries/{CONVERSATION}:compact", headers=ACME)
            assert asked.status_code == 202, asked.text
            assert asked.json()["inputs"] == 3 and asked.json()["last_turn_index"] == 29  # the three blocks
        ollama.fail_next(1, "http_500")
        compacted = _summarise(settings, ollama)
        assert compacted.dead_lettered == 1 and compacted.summaries == {}
        (parked,) = list(read_topic(settings.kafka, settings.topics.dlq))
        info = ErrorInfo.from_headers(message_headers(parked))
        assert info is not None and info.stage == "summarise" and info.error_class == "server_error"
        drained = run_fallback(settings, idle_exit_s=1.5)
        assert drained.summaries == 1
        run_sink_qdrant(settings, idle_exit_s=1.5)
        (level3,) = [b for b in _batches(settings) if b.extractor == CLAUDE_SUMMARISER]
        assert level3.memories[0].memory_id == summary_memory_id("acme", CONVERSATION, 3, 0, 29)
        codec = SingleObjectCodec()
        usage = [codec.decode(m.value() or b"", UsageRecord) for m in read_topic(settings.kafka, settings.topics.usage)]
        assert {u.provider for u in usage if u.request_id == level3.request_id} == {"ollama", "anthropic"}
        assert any(u.request_id.endswith("#summary1") for u in usage)

        with _store(settings) as store, TestClient(search_app(settings, store=store)) as client:
            answer = client.get(f"/v1/summaries/{CONVERSATION}", headers=ACME)
            assert answer.status_code == 200, answer.text
            by_level = {s["level"]: s for s in answer.json()["summaries"]}
            assert by_level[3]["extractor"] == CLAUDE_SUMMARISER and by_level[3]["text"].startswith("Claude")
            assert (by_level[2]["first_turn_index"], by_level[2]["last_turn_index"]) == (20, 29)
            assert (by_level[1]["first_turn_index"], by_level[1]["last_turn_index"]) == (25, 29)
            assert answer.json()["counts"] == {"1": 6, "2": 3, "3": 1}
            assert client.get(f"/v1/summaries/{CONVERSATION}").status_code == 401
            assert client.get("/v1/summaries/nobody", headers=ACME).status_code == 404
            globex = {"Authorization": "Bearer k-globex"}  # another tenant, the same conversation id
            assert client.get(f"/v1/summaries/{CONVERSATION}", headers=globex).status_code == 404
            assert client.post(f"/v1/summaries/{CONVERSATION}:compact", headers=globex).status_code == 404
            report = verify(settings.stream_context(), verifier_groups(settings), store=store)
            assert report.requests == 7 and report.requests_lost == 0 and report.requests_extracted == 7, report
            assert report.memories_missing == 0 and report.usage_missing == 0, report

        printed = CliRunner().invoke(cli, ["summary", CONVERSATION, "--json"], obj=settings)
        assert printed.exit_code == 0, printed.output
        assert [s["level"] for s in json.loads(printed.output)["summaries"]] == [1, 2, 3]
