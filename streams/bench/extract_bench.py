"""`memlane bench extract`: extraction worker throughput against an Ollama server of fixed latency and parallelism.

Our Ollama-protocol server (`streams.testing.fake_ollama`) answers every chat after exactly L seconds
and serves at most P at once, like OLLAMA_NUM_PARALLEL=P. The ideal throughput is P / L requests per
second; the worker (consumer group, batches, bounded concurrency, memories + usage produced and
offsets committed) achieves some fraction of it: `efficiency`. Worker overhead per request is the
time a request spends in the worker beyond the model's L (client, validation, batch building,
produce and commit share), p50/p99.

With `--ollama-url URL --model NAME` it measures that real server instead (`streams.bench.extract_real`:
schema-valid answers, repairs and DLQ classes per 100 LoCoMo dev windows, seconds per request, tokens/s).
"""

from __future__ import annotations

import json
import threading
import time
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from confluent_kafka.admin import AdminClient

from processors.extraction import ExtractionOutcome, HealthProbe
from processors.extraction.ollama_extractor import OllamaExtractor
from schemas.codec import SingleObjectCodec
from schemas.events import ExtractionRequest, Role, WindowTurn
from streams.bench.contract import BenchOptions, BenchReport
from streams.bench.extract_real import run_real
from streams.bench.report import median, percentile
from streams.kafka.producer import ReliableProducer
from streams.kafka.provision import provision
from streams.kafka.topic_catalogue import TopicNames
from streams.kafka.worker_spec import build_worker
from streams.settings import Settings
from streams.testing.fake_ollama import FakeOllamaServer
from streams.wiring.broker import live_broker
from streams.workers import extract

GOAL_EFFICIENCY = 0.9
FAST = "qwen2.5:7b-instruct"
T0 = datetime(2025, 1, 1, tzinfo=UTC)


class TimedExtractor:
    """Wraps an extractor and records how long each `extract` call takes."""

    def __init__(self, inner: OllamaExtractor) -> None:
        self.inner = inner
        self.durations: list[float] = []
        self._lock = threading.Lock()

    @property
    def name(self) -> str:
        return self.inner.name

    def extract(self, request: ExtractionRequest) -> ExtractionOutcome:
        began = time.perf_counter()
        try:
            return self.inner.extract(request)
        finally:
            with self._lock:
                self.durations.append(time.perf_counter() - began)

    def health(self) -> HealthProbe:
        return self.inner.health()

    def redriven(self) -> None:
        self.inner.redriven()

    def close(self) -> None:
        self.inner.close()


def _answer(body: dict[str, Any]) -> str:
    facts = [
        {
            "text": "The user keeps basil on the balcony.",
            "subject": "user",
            "confidence": 0.9,
            "source_turn_ids": ["evt-0"],
        }
    ]
    return json.dumps({"facts": facts, "decisions": [], "next_steps": [], "errors": []})


def _requests(count: int, tag: str) -> list[ExtractionRequest]:
    turns = tuple(
        WindowTurn(
            event_id=f"evt-{i}",
            turn_index=i,
            role=Role.USER,
            content="I keep basil and mint on my balcony.",
            token_count=10,
            event_time=T0 + timedelta(seconds=i),
        )
        for i in range(4)
    )
    return [
        ExtractionRequest(
            request_id=f"{tag}-{n}",
            conversation_id=f"conv-{n % 16}",
            tenant_id="bench",
            user_id=f"u{n % 16}",
            first_turn_index=0,
            last_turn_index=3,
            turns=turns,
            priority=0.5,
            priority_class="fact",
            trigger="turn_count",
            token_count=40,
            created_at=T0,
        )
        for n in range(count)
    ]


def _one(settings: Settings, *, latency: float, parallel: int, count: int) -> dict[str, Any]:
    suffix = uuid.uuid4().hex[:8]
    topics = TopicNames().prefixed(f"bench.extract.{suffix}.")
    live = settings.model_copy(update={"topics": topics})
    admin = AdminClient(live.kafka_config())
    provision(admin, live.topic_catalogue())
    with FakeOllamaServer([FAST], latency=latency, parallel=parallel) as server:
        server.script.responder = _answer
        extraction = live.extraction.model_copy(
            update={
                "fast_model": FAST,
                "ollama_parallelism": parallel,
                "worker_batch_size": 16 * parallel,
                "worker_group_id": f"bench-extract-{suffix}",
                "request_timeout_s": 30.0,
            }
        )
        run_settings = live.model_copy(
            update={"ollama_url": server.url, "extractor": "ollama", "extraction": extraction}
        )
        codec, producer = SingleObjectCodec(), ReliableProducer(run_settings.kafka)
        for request in _requests(count, suffix):
            producer.send(topics.requests, codec.encode(request), key=request.conversation_id.encode())
        producer.flush()
        timed = TimedExtractor(OllamaExtractor.connect(run_settings.ollama_url, run_settings.extraction))
        ctx, ex = run_settings.stream_context(), run_settings.extraction
        loop, handler = build_worker(
            extract.SPEC,
            ctx,
            lambda producer: extract.ExtractionSink(ctx, timed, producer, parallelism=ex.ollama_parallelism),
            group_id=ex.worker_group_id,
            batch_size=ex.worker_batch_size,
        )
        loop.consumer.subscribe([topics.requests], on_assign=loop._on_assign)
        while not loop.assigned.is_set():
            loop.run_once()
        began = time.perf_counter()
        before = loop.stats.messages  # handled while waiting for the assignment: not timed
        while loop.stats.messages < count:
            loop.run_once()
        elapsed = time.perf_counter() - began
        timed_count = count - before
        loop.close()
        timed.close()
        served_max = server.max_concurrency
    admin.delete_topics(topics.all())
    achieved = timed_count / elapsed
    ideal = parallel / latency
    overhead_ms = [max(0.0, d - latency) * 1000 for d in timed.durations]
    return {
        "latency_ms": latency * 1000,
        "parallel": parallel,
        "requests": count,
        "achieved_rps": achieved,
        "ideal_rps": ideal,
        "efficiency": achieved / ideal,
        "overhead_p50_ms": percentile(overhead_ms, 50),
        "overhead_p99_ms": percentile(overhead_ms, 99),
        "server_max_concurrency": served_max,
        "extracted": handler.counts.extracted,
    }


def run(options: BenchOptions) -> BenchReport:
    """Measure efficiency for several (L, P); the headline is L=500 ms, P=4 (7B models answer in seconds).

    The Ollama-protocol server runs in this process and competes for the GIL with the worker, so the
    short-latency rows overstate the worker's own overhead; every row is reported. With a real server named
    (`options.ollama_url`), the real-server benchmark runs instead.
    """
    if options.ollama_url:
        return run_real(options)
    quick = options.quick
    configs = [(0.1, 1), (0.1, 4), (0.25, 4), (0.5, 4)] if not quick else [(0.1, 4), (0.5, 4)]
    count = 128 if quick else 256
    with live_broker(options.settings) as live:
        rows = [_one(live, latency=latency, parallel=parallel, count=count) for latency, parallel in configs]
    headline = next(r for r in rows if r["parallel"] == 4 and r["latency_ms"] == 500)
    short = next(r for r in rows if r["parallel"] == 4 and r["latency_ms"] == 100)
    summary = {
        "efficiency": headline["efficiency"],
        "overhead_p50_ms": headline["overhead_p50_ms"],
        "overhead_p99_ms": headline["overhead_p99_ms"],
        "achieved_rps": headline["achieved_rps"],
        "ideal_rps": headline["ideal_rps"],
        "efficiency_l100_p4": short["efficiency"],
        "min_efficiency": min(r["efficiency"] for r in rows),
        "median_efficiency": median(r["efficiency"] for r in rows),
        "goal_efficiency": GOAL_EFFICIENCY,
        "meets_goal": headline["efficiency"] >= GOAL_EFFICIENCY,
    }
    return BenchReport(
        "extract",
        columns=[
            "latency_ms",
            "parallel",
            "requests",
            "achieved_rps",
            "ideal_rps",
            "efficiency",
            "overhead_p50_ms",
            "overhead_p99_ms",
            "server_max_concurrency",
        ],
        rows=rows,
        summary=summary,
        notes=["efficiency = achieved requests/s over P/L, first consumed batch to last commit, real broker"],
    )


__all__ = ["run"]
