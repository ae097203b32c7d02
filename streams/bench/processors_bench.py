"""`memlane bench processors`: turns/s through the processors app against a raw consume->produce passthrough.

Both sides run as their own OS process on the same broker, in the same run, on the same LoCoMo-derived turns
(conversations copied under new ids per round, event times moved to now, each copy closed by a decision turn
so that every window leaves by a turn trigger rather than a timer):

* ours: a processors worker (`python -m streams.cli worker processors`): decode, change detection, dedupe,
  priority scoring, outputs awaited, RocksDB state + changelog, commits;
* passthrough: a confluent-kafka consumer copying each message's bytes to another topic with the reliable
  producer settings, flushing and committing every second as the Faust app does (the same at-least-once
  contract, no work).

A round publishes N turns (the publisher is ~20x faster than either side) and ends when the last output
that accounts for them is on the broker: throughput = N / (last output's timestamp - publish start).
Rounds alternate (ours, passthrough, ...) so machine noise hits both; ratio = median(ours) /
median(passthrough). Latency is measured apart, at a paced rate both sides sustain: for ours from a turn's
publish to the skip record or request its verdict is in (for a request, from its closing turn), for the
passthrough from publish to the copy. `inprocess_turns_per_s` is the pure `TurnProcessor` on the same turns
with no Kafka at all: the ceiling any wiring of these stages can reach on this machine.
"""

from __future__ import annotations

import multiprocessing
import signal
import statistics
import tempfile
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from multiprocessing.synchronize import Event as EventType
from pathlib import Path
from typing import Any

from confluent_kafka import OFFSET_END, Consumer, KafkaException, Producer, TopicPartition
from confluent_kafka.admin import AdminClient

from processors.dedupe import HashingEmbedder
from processors.pipeline import TurnProcessor
from schemas.codec import SingleObjectCodec
from schemas.errors import MemlaneError
from schemas.events import ConversationTurn, ExtractionRequest, Role, SkipRecord
from streams.bench.contract import BenchOptions, BenchReport
from streams.bench.report import median, percentile
from streams.ingest import locomo_turns
from streams.kafka.consumer import AT_LEAST_ONCE_CONF
from streams.kafka.producer import RELIABLE_PRODUCER_CONF, ReliableProducer
from streams.kafka.provision import provision
from streams.kafka.topic_catalogue import TopicNames
from streams.processor_app.app_settings import ProcessorAppSettings
from streams.processor_app.config import ticks_topic_name
from streams.processor_app.runtime import TABLE_NAME
from streams.settings import Settings
from streams.wiring.broker import live_broker
from streams.wiring.processes import spawn_processors

GOAL_RATIO = 0.5
COMMIT_INTERVAL_S = 1.0
"""Both sides commit this often, each after flushing its producer."""
ROUND_TIMEOUT_S = 300.0
TIME_TRIGGERS = frozenset({"idle_timeout", "fact_flush"})


def base_conversations(settings: Settings, path: Path) -> list[list[ConversationTurn]]:
    """The LoCoMo conversations of `path` as lists of turns."""
    by_conversation: dict[str, list[ConversationTurn]] = {}
    for item in locomo_turns(path, tenant_id=settings.tenant_id):
        by_conversation.setdefault(item.turn.conversation_id, []).append(item.turn)
    return list(by_conversation.values())


def round_turns(base: list[list[ConversationTurn]], tag: str, count: int) -> list[ConversationTurn]:
    """At least `count` turns: whole copies of the conversations under new ids, interleaved, ending now."""
    copies: list[list[ConversationTurn]] = []
    now = datetime.now(UTC)
    while sum(len(c) for c in copies) < count:
        source = base[len(copies) % len(base)]
        conversation_id = f"{source[0].conversation_id}-{tag}-{len(copies)}"
        shift = now - source[-1].event_time - timedelta(minutes=5)
        copy = [
            t.model_copy(update={"conversation_id": conversation_id, "event_time": t.event_time + shift})
            for t in source
        ]
        last = copy[-1]
        closing = f"We decided to wrap up {conversation_id} here and meet again next week."
        copy.append(
            last.model_copy(
                update={
                    "event_id": f"{conversation_id}:close",
                    "turn_index": last.turn_index + 1,
                    "role": Role.USER,
                    "content": closing,
                    "token_count": 0,
                    "attachments": (),
                    "event_time": last.event_time + timedelta(seconds=30),
                }
            )
        )
        copies.append(copy)
    longest = max(len(c) for c in copies)
    return [c[i] for i in range(longest) for c in copies if i < len(c)]


def _passthrough_main(conf: dict[str, Any], source: str, sink: str, group: str, stop: EventType) -> None:
    """The raw side: consume -> produce the same bytes; every second flush, then commit (as Faust does)."""
    consumer = Consumer({**conf, **AT_LEAST_ONCE_CONF, "group.id": group})
    producer = Producer({**conf, **RELIABLE_PRODUCER_CONF})
    consumer.subscribe([source])
    last: dict[int, int] = {}
    committed_at = time.monotonic()
    try:
        while not stop.is_set():
            for message in consumer.consume(num_messages=1000, timeout=0.05):
                if message.error() is not None:
                    continue
                while True:
                    try:
                        producer.produce(sink, value=message.value(), key=message.key())
                        break
                    except BufferError:
                        producer.poll(0.05)
                last[message.partition() or 0] = message.offset() or 0
            producer.poll(0)
            if last and time.monotonic() - committed_at >= COMMIT_INTERVAL_S:
                if producer.flush(60):
                    raise MemlaneError("passthrough: deliveries not acknowledged")
                offsets = [TopicPartition(source, p, o + 1) for p, o in last.items()]
                consumer.commit(offsets=offsets, asynchronous=False)
                last, committed_at = {}, time.monotonic()
    finally:
        producer.flush(30)
        consumer.close()


@dataclass
class _Seen:
    """Outputs read since a round started: their timestamps and the turns they account for."""

    turns: int = 0
    last_ms: int = 0
    latencies_ms: list[float] | None = None


class _Reader:
    """Reads the outputs of one side from the end offsets captured when a round starts."""

    def __init__(self, settings: Settings, topics: list[str]) -> None:
        self.consumer = Consumer(settings.kafka_config(**{"group.id": f"bench-{uuid.uuid4().hex[:8]}"}))
        self.topics = topics

    def start(self) -> None:
        parts = []
        for topic in self.topics:
            metadata = self.consumer.list_topics(topic, timeout=30)
            for partition in metadata.topics[topic].partitions:
                parts.append(TopicPartition(topic, partition, self._high(TopicPartition(topic, partition))))
        self.consumer.assign(parts)

    def _high(self, tp: TopicPartition) -> int:
        deadline = time.monotonic() + 30.0
        while True:
            try:
                _low, high = self.consumer.get_watermark_offsets(tp, timeout=10)
                return int(high) if high >= 0 else OFFSET_END
            except KafkaException:  # a new topic's leader is not known yet
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.2)

    def collect(self, want: int, account: Callable[[Any], tuple[int, float | None]], seen: _Seen) -> None:
        deadline = time.monotonic() + ROUND_TIMEOUT_S
        while seen.turns < want:
            if time.monotonic() > deadline:
                raise MemlaneError(f"timed out: {seen.turns}/{want} turns accounted for")
            for message in self.consumer.consume(num_messages=1000, timeout=0.2):
                if message.error() is not None:
                    continue
                turns, latency = account(message)
                seen.turns += turns
                seen.last_ms = max(seen.last_ms, message.timestamp()[1])
                if latency is not None and seen.latencies_ms is not None:
                    seen.latencies_ms.append(latency)

    def close(self) -> None:
        self.consumer.close()


class _Bench:
    def __init__(self, live: Settings, work: Path) -> None:
        suffix = uuid.uuid4().hex[:8]
        self.settings = live.model_copy(update={"topics": TopicNames().prefixed(f"bench.proc.{suffix}.")})
        self.pt_in, self.pt_out = f"bench.proc.{suffix}.pt.in", f"bench.proc.{suffix}.pt.out"
        self.admin = AdminClient(live.kafka_config())
        specs = self.settings.topic_catalogue()
        turns_spec = specs[0]
        specs += [
            type(turns_spec)(**{**turns_spec.__dict__, "name": self.pt_in}),
            type(turns_spec)(**{**turns_spec.__dict__, "name": self.pt_out}),
        ]
        self.specs = specs
        provision(self.admin, specs)
        self.app = ProcessorAppSettings(
            app_id=f"bench-proc-{suffix}",
            data_dir=work / "rocksdb",
            drain_flush_s=1.0,
            commit_interval_s=COMMIT_INTERVAL_S,
            standby_replicas=0,
        )
        self.codec = SingleObjectCodec()
        self.producer = ReliableProducer(self.settings.kafka)
        """One producer for the whole run: a new idempotent producer spends its first ~0.5 s getting an id."""
        self.published: dict[tuple[str, int], float] = {}

    def publish(self, topic: str, turns: list[ConversationTurn], rate: float | None = None) -> float:
        """Publishes `turns` (paced at `rate` per second if given); returns the wall time it began.

        The turns are Avro-encoded first, as `TurnPublisher` encodes them, and sent with the same producer
        settings, so that encoding in this process does not slow the round down for either side.
        """
        encoded = [
            (t.conversation_id.encode(), self.codec.encode(t), int(t.event_time.timestamp() * 1000)) for t in turns
        ]
        producer = self.producer
        began = time.time()
        for index, ((key, value, stamp), turn) in enumerate(zip(encoded, turns, strict=True)):
            if rate is not None:
                delay = began + index / rate - time.time()
                if delay > 0:
                    time.sleep(delay)
            self.published[(turn.conversation_id, turn.turn_index)] = time.time()
            producer.send(topic, value, key=key, timestamp_ms=stamp)
        producer.flush(120)
        producer.raise_on_failures()
        return began

    def ours_account(self, message: Any) -> tuple[int, float | None]:
        ts = message.timestamp()[1]
        if message.topic() == self.settings.topics.requests:
            request = self.codec.decode(message.value(), ExtractionRequest)
            key = (request.conversation_id, request.last_turn_index)
            timed = request.trigger not in TIME_TRIGGERS and key in self.published
            return len(request.turns), (ts - self.published[key] * 1000) if timed else None
        skip = self.codec.decode(message.value(), SkipRecord)
        key = (skip.conversation_id, skip.turn_index)
        return 1, (ts - self.published[key] * 1000) if key in self.published else None

    def passthrough_account(self, message: Any) -> tuple[int, float | None]:
        turn = self.codec.decode(message.value(), ConversationTurn)
        key = (turn.conversation_id, turn.turn_index)
        return 1, (message.timestamp()[1] - self.published[key] * 1000) if key in self.published else None

    def delete_topics(self) -> None:
        internal = [f"{self.app.app_id}-{TABLE_NAME}-changelog", ticks_topic_name(self.app)]
        for future in self.admin.delete_topics([s.name for s in self.specs] + internal).values():
            try:
                future.result(30)
            except Exception:  # best effort: the figures stand without the clean-up
                pass


def _round(
    bench: _Bench,
    reader: _Reader,
    topic: str,
    turns: list[ConversationTurn],
    account: Any,
    *,
    rate: float | None = None,
) -> tuple[float, list[float]]:
    """Publishes `turns` (paced at `rate`, or at once) and waits for them; (turns/s, latencies in ms)."""
    reader.start()
    began = bench.publish(topic, turns, rate=rate)
    seen = _Seen(latencies_ms=[])
    reader.collect(len(turns), account, seen)
    return len(turns) / max(seen.last_ms / 1000.0 - began, 1e-3), seen.latencies_ms or []


def run(options: BenchOptions) -> BenchReport:
    """Run the benchmark (starting a broker if none answers)."""
    settings, quick = options.settings, options.quick
    per_round, rounds = (3000, 2) if quick else (12000, 4)
    latency_turns, latency_rate = (300, 100.0) if quick else (1000, 100.0)
    base = base_conversations(settings, options.data_path("locomo/locomo_dev5.json"))
    rows: list[dict[str, Any]] = []
    context = multiprocessing.get_context("spawn")
    with live_broker(settings) as live, tempfile.TemporaryDirectory(prefix="memlane-bench-proc-") as tmp:
        bench = _Bench(live, Path(tmp))
        stop = context.Event()
        passthrough = context.Process(
            target=_passthrough_main,
            args=(live.kafka_config(), bench.pt_in, bench.pt_out, f"bench-pt-{uuid.uuid4().hex[:8]}", stop),
            daemon=True,
        )
        worker = spawn_processors(bench.settings, bench.app, log_path=Path(tmp) / "worker.log")
        passthrough.start()
        ours_reader = _Reader(bench.settings, [bench.settings.topics.requests, bench.settings.topics.skipped])
        pt_reader = _Reader(bench.settings, [bench.pt_out])
        try:
            warm = round_turns(base, "warm", 500)
            _round(bench, ours_reader, bench.settings.topics.turns, warm, bench.ours_account)
            _round(bench, pt_reader, bench.pt_in, warm, bench.passthrough_account)
            for index in range(rounds):
                turns = round_turns(base, f"r{index}", per_round)
                ours, _ = _round(bench, ours_reader, bench.settings.topics.turns, turns, bench.ours_account)
                raw, _ = _round(bench, pt_reader, bench.pt_in, turns, bench.passthrough_account)
                rows.append(
                    {
                        "round": index + 1,
                        "turns": len(turns),
                        "ours_turns_per_s": ours,
                        "passthrough_turns_per_s": raw,
                        "ratio": ours / raw,
                    }
                )
            paced = round_turns(base, "lat", latency_turns)[:latency_turns]
            _, ours_latency = _round(
                bench, ours_reader, bench.settings.topics.turns, paced, bench.ours_account, rate=latency_rate
            )
            paced_pt = round_turns(base, "latpt", latency_turns)[:latency_turns]
            _, pt_latency = _round(
                bench, pt_reader, bench.pt_in, paced_pt, bench.passthrough_account, rate=latency_rate
            )
        finally:
            ours_reader.close()
            pt_reader.close()
            stop.set()
            passthrough.join(30)
            worker.send_signal(signal.SIGTERM)
            try:
                worker.wait(60)
            except Exception:
                worker.kill()
            bench.delete_topics()
    processor = TurnProcessor(settings.processors, embedder=HashingEmbedder())
    sample = round_turns(base, "inproc", per_round)
    began = time.perf_counter()
    states: dict[str, Any] = {}
    for offset, turn in enumerate(sample):
        states[turn.conversation_id], _ = processor.process(states.get(turn.conversation_id), turn, 0, offset)
    inprocess = len(sample) / (time.perf_counter() - began)
    ours_median = median(r["ours_turns_per_s"] for r in rows)
    raw_median = median(r["passthrough_turns_per_s"] for r in rows)
    ratio = ours_median / raw_median
    summary = {
        "ratio": ratio,
        "ours_turns_per_s": ours_median,
        "passthrough_turns_per_s": raw_median,
        "inprocess_turns_per_s": inprocess,
        "ours_vs_inprocess": ours_median / inprocess,
        "p50_ms": percentile(ours_latency, 50),
        "p99_ms": percentile(ours_latency, 99),
        "passthrough_p50_ms": percentile(pt_latency, 50),
        "passthrough_p99_ms": percentile(pt_latency, 99),
        "latency_samples": len(ours_latency),
        "latency_rate_turns_per_s": latency_rate,
        "turns_per_round": per_round,
        "rounds": rounds,
        "ratio_spread": [min(r["ratio"] for r in rows), max(r["ratio"] for r in rows)],
        "goal_ratio": GOAL_RATIO,
        "meets_goal": ratio >= GOAL_RATIO,
        "mean_latency_ms": statistics.fmean(ours_latency) if ours_latency else float("nan"),
    }
    return BenchReport(
        "processors",
        columns=["round", "turns", "ours_turns_per_s", "passthrough_turns_per_s", "ratio"],
        rows=rows,
        summary=summary,
        notes=[
            "ours = processors worker (Faust, RocksDB state + changelog, outputs awaited before state, commits); "
            "passthrough = confluent-kafka consume -> produce the same bytes, flush + commit every "
            f"{COMMIT_INTERVAL_S:g}s like ours; each its own process",
            f"in-process ceiling: the pure TurnProcessor alone runs {inprocess:,.0f} turns/s here; ours reaches "
            f"{ours_median / inprocess:.0%} of it",
            f"latency at a paced {latency_rate:.0f} turns/s: publish -> skip record or request (from its closing "
            "turn); time-triggered requests excluded",
            f"goal ratio >= {GOAL_RATIO}: {'met' if ratio >= GOAL_RATIO else 'NOT met'}",
        ],
    )


__all__ = ["run"]
