"""`memlane replay` on the real broker: a real conversation's range into two arms, production left byte-identical.

Production is a whole pipeline run over the first turns of two LoCoMo conversations (heuristic extractor),
once per module. The replay takes one of them from the turns topic, re-runs the processors into its own
namespace, and extracts it twice: with the heuristic extractor and with an LLM behind our Ollama-protocol
server (a reading model that fails half of the windows, drained by the fallback to our Claude-protocol
server). Before and after,
every production message, committed offset, blob file and Qdrant file is hashed.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from confluent_kafka import TopicPartition
from confluent_kafka.admin import AdminClient
from evaluation_data import data_missing, shared_data_dir
from pydantic import SecretStr
from typer.testing import CliRunner

from schemas.events import ConversationTurn, MemoryBatch, Role
from streams.bench.reading_model import ReadingModel
from streams.broker.broker_settings import BrokerSettings
from streams.cli import app
from streams.ingest.turn_files import InputFormat, load_turns
from streams.kafka.consumer import make_consumer, read_topic
from streams.kafka.producer import ReliableProducer
from streams.pipeline_run import clean_up, run_groups, run_stages, run_topics, start_run
from streams.replay.namespace import PREFIX
from streams.replay.ranges import Selection, copy_range, resolve_range
from streams.settings import Settings
from streams.testing.fake_anthropic import FakeAnthropicServer
from streams.testing.fake_ollama import FakeOllamaServer

FAST, COMPLEX = "qwen2.5:7b-instruct", "qwen2.5:32b-instruct"
KEY = "replay-test-key"
PRODUCTION_CONVERSATIONS = ["conv-26", "conv-30"]
REPLAYED = "conv-30"
TURNS_PER_CONVERSATION = 120


def _topic_digest(settings: Settings, topic: str) -> str:
    """Every message of `topic` (position, timestamp, key, value, headers), in partition and offset order."""
    rows = sorted(
        (m.partition(), m.offset(), m.timestamp(), m.key() or b"-", m.value() or b"-", repr(m.headers()))
        for m in read_topic(settings.kafka, topic)
    )
    return hashlib.sha256(repr(rows).encode()).hexdigest()


def _tree_digest(root: Path) -> dict[str, str]:
    if not root.exists():
        return {}
    return {
        str(path.relative_to(root)): hashlib.sha256(path.read_bytes()).hexdigest()
        for path in sorted(root.rglob("*"))
        if path.is_file()
    }


def _production_snapshot(settings: Settings) -> dict[str, Any]:
    admin = AdminClient(settings.kafka_config())
    existing = set(admin.list_topics(timeout=30).topics)
    topics = [t for t in run_topics(settings) if t in existing]
    partitions = [TopicPartition(t, p) for t in topics for p in admin.list_topics(t, timeout=30).topics[t].partitions]
    offsets = {}
    for group in run_groups(settings):
        consumer = make_consumer(settings.kafka, group)  # reads the group's offsets without joining it
        try:
            offsets[group] = sorted((tp.topic, tp.partition, tp.offset) for tp in consumer.committed(partitions, 30))
        finally:
            consumer.close()
    return {
        "topics": {topic: _topic_digest(settings, topic) for topic in topics},
        "offsets": offsets,
        "blobs": _tree_digest(settings.blob_dir),
        "qdrant": _tree_digest(settings.qdrant_dir),
    }


def _memory_ids(settings: Settings, topic: str, conversation: str) -> set[str]:
    codec = settings.codec()
    batches = [codec.decode(m.value() or b"", MemoryBatch, topic) for m in read_topic(settings.kafka, topic)]
    return {memory.memory_id for b in batches if b.conversation_id == conversation for memory in b.memories}


def _replay_topics(settings: Settings, name: str) -> list[str]:
    topics = AdminClient(settings.kafka_config()).list_topics(timeout=30).topics
    return sorted(t for t in topics if t.startswith(f"{PREFIX}{name}."))


@dataclass
class Production:
    """A production deployment that ran the whole pipeline once, its snapshot, and the fake LLM servers."""

    settings: Settings
    before: dict[str, Any]
    results: Path

    def env(self) -> dict[str, str]:
        return {**self.settings.to_env(), "COLUMNS": "200"}

    def replay(self, *args: str) -> Any:
        return CliRunner().invoke(app, ["replay", *args], env=self.env())

    def untouched(self) -> bool:
        return _production_snapshot(self.settings) == self.before


@pytest.fixture(scope="module")
def production(broker_bootstrap: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Production]:
    model = ReadingModel(failing_share=0.5)
    root = tmp_path_factory.mktemp("replay")
    with (
        FakeOllamaServer([FAST, COMPLEX], parallel=2) as ollama,
        FakeAnthropicServer(api_key=KEY, tool_responder=model.claude_tool_responder) as claude,
    ):
        ollama.script.responder = model.ollama_responder
        base = Settings(
            kafka_bootstrap=broker_bootstrap,
            state_dir=root / "memlane",
            broker=BrokerSettings(default_partitions=3),
            tenant_id="acme",
            extractor="heuristic",
            ollama_url=ollama.url,
            anthropic_api_key=SecretStr(KEY),
            anthropic_base_url=claude.url,
        )
        base = base.model_copy(
            update={
                "extraction": base.extraction.model_copy(
                    update={"fast_model": FAST, "complex_model": COMPLEX, "backoff_attempts": 1}
                )
            }
        )
        settings, report, admin = start_run(base)
        turns, _ = load_turns(locomo(), InputFormat.LOCOMO, tenant_id="acme", conversations=PRODUCTION_CONVERSATIONS)
        kept = [t for t in turns if t.turn_index < TURNS_PER_CONVERSATION]
        try:
            run_stages(settings, kept, report)
            before = _production_snapshot(settings)
            assert before["topics"] and before["blobs"] and before["qdrant"]
            yield Production(settings, before, root / "results")
        finally:
            clean_up(settings, admin)


def locomo() -> Path:
    path = shared_data_dir() / "locomo" / "locomo_dev5.json"
    if not path.is_file():
        data_missing("locomo/locomo_dev5.json")
    return path


AB = [
    "--from", "-30m", "--to", "now", "--stage", "processors", "--conversation", REPLAYED,
    "--extractor", "heuristic", "--extractor", "ollama", "--name", "ab",
]  # fmt: skip


def test_a_replay_into_two_arms_writes_the_report_and_leaves_production_untouched(production: Production) -> None:
    first = production.replay(*AB, "--qa", str(locomo()), "--results-dir", str(production.results))
    assert first.exit_code == 0, first.output
    assert production.untouched(), "a replay changes nothing of production"

    folder = production.results / "replay-ab"
    report = json.loads((folder / "ab.json").read_text())
    files = {path.name for path in folder.iterdir()}
    assert {"report.md", "ab.json", "coverage.png", "kinds.png", "calls.png", "quality.png"} <= files
    assert all((folder / name).stat().st_size > 5_000 for name in files if name.endswith(".png"))
    heuristic, llm = report["arms"]
    assert (heuristic["arm"], llm["arm"]) == ("heuristic", "ollama")
    assert heuristic["requests"] == llm["requests"] > 0, "both arms saw the same requests"
    assert heuristic["memories"] > 0 and llm["memories"] > 0
    assert heuristic["accounting"] == llm["accounting"] == "ALL-TURNS-ACCOUNTED"
    assert heuristic["llm_calls"] == 0 and heuristic["paid_usd"] == 0
    assert llm["fallback_rate"] > 0, "half of the windows fail locally and are drained to Claude"
    assert llm["dlq_rate_per_1000"] == pytest.approx(1000 * llm["fallback_rate"], rel=0.01)
    assert llm["paid_usd"] > 0 and llm["local_tokens_in"] > 0 and llm["latency_p50_ms"] is not None
    assert {f["error_class"] for f in llm["failures"]} == {"invalid_json"}
    [pair] = report["pairs"]
    for key in ("coverage_of_a_by_b_at_threshold", "coverage_of_b_by_a_at_threshold"):
        assert 0.0 < pair[key] <= 1.0
    curve = list(pair["coverage_of_a_by_b"].values())
    assert curve == sorted(curve, reverse=True), "a higher threshold never covers more"
    assert pair["a_missed_by_b"] and pair["b_missed_by_a"]
    for arm in (heuristic, llm):
        overall = next(row for row in arm["quality"] if row["category"] == "all")
        assert overall["questions"] >= 10 and 0 < overall["evidence@10"] <= 1
    markdown = (folder / "report.md").read_text()
    assert "## Coverage: heuristic vs ollama" in markdown and "![coverage](coverage.png)" in markdown


@pytest.mark.slow  # minutes long: make test-all
def test_the_same_replay_resumes_and_other_parameters_are_refused(production: Production) -> None:
    first = production.replay(*AB, "--results-dir", str(production.results))
    assert first.exit_code == 0, first.output
    memories = [a["memories"] for a in json.loads((production.results / "replay-ab" / "ab.json").read_text())["arms"]]
    again = production.replay(*AB, "--results-dir", str(production.results))
    assert again.exit_code == 0, again.output
    assert "0 message(s) copied" in again.output, "a repeated replay resumes: nothing is copied twice"
    report = json.loads((production.results / "replay-ab" / "ab.json").read_text())
    assert [a["memories"] for a in report["arms"]] == memories, "nothing is made twice"
    other = production.replay(*AB[:3], "-1m", *AB[4:])  # --to -1m instead of now
    assert other.exit_code != 0 and "exists with other parameters" in other.output
    assert production.untouched()


def test_replaying_production_requests_makes_its_memories_id_for_id(production: Production) -> None:
    settings = production.settings
    by_requests = production.replay(
        "--from", "-30m", "--stage", "extraction", "--conversation", REPLAYED, "--extractor", "heuristic",
        "--name", "ids", "--results-dir", str(production.results),
    )  # fmt: skip
    assert by_requests.exit_code == 0, by_requests.output
    replayed = f"{PREFIX}ids.heuristic.{settings.topics.memories}"
    assert _memory_ids(settings, settings.topics.memories, REPLAYED) == _memory_ids(settings, replayed, REPLAYED)
    assert _memory_ids(settings, replayed, "conv-26") == set(), "only the selected conversation is replayed"
    assert production.untouched()


def test_replays_are_listed_and_removed_without_touching_production(production: Production) -> None:
    settings = production.settings
    made = production.replay(
        "--from", "-30m", "--stage", "extraction", "--extractor", "heuristic", "--name", "gone",
        "--results-dir", str(production.results),
    )  # fmt: skip
    assert made.exit_code == 0, made.output
    listed = production.replay("list")
    assert listed.exit_code == 0 and "gone" in listed.output and "arm:heuristic" in listed.output, listed.output
    others = {name: _replay_topics(settings, name) for name in ("ab", "ids")}
    removed = production.replay("rm", "gone")
    assert removed.exit_code == 0, removed.output
    assert _replay_topics(settings, "gone") == []
    assert {name: _replay_topics(settings, name) for name in others} == others, "only `gone` is removed"
    assert not (settings.state_dir / "replays" / "gone").exists()
    assert production.replay("rm", "gone").exit_code != 0, "removing it twice says there is no such replay"
    assert production.untouched(), "removing a replay changes nothing of production"


def test_a_replay_range_selects_by_time_tenant_and_conversation(kafka_settings: Settings) -> None:
    settings = kafka_settings.model_copy(update={"tenant_id": "acme"})
    ctx, codec = settings.stream_context(), settings.codec()
    producer = ReliableProducer(settings.kafka)
    t0 = datetime.now(UTC) - timedelta(hours=3)
    for n in range(30):
        turn = ConversationTurn(
            event_id=f"e-{n}", conversation_id=f"c-{n % 3}", turn_index=n // 3, tenant_id="acme" if n % 2 else "other",
            user_id="u", platform="web", role=Role.USER, content=f"turn {n}", token_count=2, event_time=t0,
        )  # fmt: skip
        stamp = int((t0 + timedelta(minutes=5 * n)).timestamp() * 1000)
        producer.send(settings.topics.turns, codec.encode(turn, settings.topics.turns), key=turn.conversation_id,
                      timestamp_ms=stamp)  # fmt: skip
    producer.flush()
    producer.close()
    start, end = t0 + timedelta(minutes=50), t0 + timedelta(minutes=100)  # turns 10..19
    bounds = resolve_range(ctx, settings.topics.turns, start, end)
    assert sum(e - f for f, e in bounds.values()) == 10
    target = settings.topics.skipped  # any empty topic of the same partitioning
    decode = lambda value: codec.decode(value, ConversationTurn, settings.topics.turns)  # noqa: E731
    selection = Selection("acme", ("c-1", "c-2"))
    counts = copy_range(ctx, settings.topics.turns, target, bounds, decode=decode, selection=selection)
    copied = [codec.decode(m.value(), ConversationTurn, target) for m in read_topic(settings.kafka, target)]
    expected = {f"e-{n}" for n in range(10, 20) if n % 2 and n % 3 in (1, 2)}
    assert {t.event_id for t in copied} == expected and counts.copied == len(expected)
    assert counts.filtered_out == 10 - len(expected)
    again = copy_range(ctx, settings.topics.turns, target, bounds, decode=decode, selection=selection)
    assert again.copied == 0, "copying resumes after the last copied source offset"
    assert len(list(read_topic(settings.kafka, target))) == len(expected)
