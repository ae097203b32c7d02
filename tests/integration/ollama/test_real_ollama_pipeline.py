"""The pipeline with the real extractor on the real Ollama: the demo conversation end to end, and a server restart
mid-stream. Every turn and every request ends accounted for (`streams.verifier`); usage records carry the
server's own token counts.
"""

from __future__ import annotations

import sys
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from confluent_kafka.admin import AdminClient
from real_ollama import SESSION_PARALLEL, RealOllama

from processors.extraction import ExtractionOutcome, HealthProbe
from processors.extraction.extraction_settings import ExtractionSettings
from processors.extraction.ollama_extractor import OllamaExtractor
from schemas.events import ExtractionRequest, MemoryBatch, Role, UsageRecord, WindowTurn
from streams.demo import DEMO_CONVERSATION, DEMO_CONVERSATION_ID
from streams.kafka.consumer import read_topic
from streams.kafka.producer import ReliableProducer
from streams.pipeline_run import clean_up, run_pipeline, run_settings
from streams.settings import Settings
from streams.verifier import VerifyReport, verify
from streams.wiring.stores import blob_store, memory_store
from streams.wiring.workers import run_extract, run_sink_blobs, run_sink_qdrant, verifier_groups

pytestmark = pytest.mark.timeout(900)
T0 = datetime(2024, 3, 4, 9, 10, tzinfo=UTC)


def _verify(settings: Settings) -> VerifyReport:
    with blob_store(settings) as blobs, memory_store(settings) as store:
        return verify(settings.stream_context(), verifier_groups(settings), store=store, blobs=blobs)


def _decoded(settings: Settings, topic: str, model: type[Any]) -> list[Any]:
    codec = settings.codec()
    return [codec.decode(m.value() or b"", model, topic) for m in read_topic(settings.kafka, topic)]


def _with_real_extractor(base: Settings, server: RealOllama, extraction: ExtractionSettings) -> Settings:
    return base.model_copy(update={"extractor": "ollama", "ollama_url": server.url, "extraction": extraction})


@pytest.mark.slow  # minutes long: make test-all
def test_the_demo_conversation_through_the_pipeline_with_the_real_extractor(
    kafka_settings: Settings, real_ollama: RealOllama, real_settings: ExtractionSettings
) -> None:
    """The defaults, but a tighter output cap and two calls at once, as the session server serves them (CI's time
    on two busy cores): answers the cap cuts are parked like any content failure."""
    extraction = real_settings.model_copy(update={"max_output_tokens": 384, "ollama_parallelism": SESSION_PARALLEL})
    base = _with_real_extractor(kafka_settings, real_ollama, extraction)
    report = run_pipeline(base, DEMO_CONVERSATION, DEMO_CONVERSATION_ID, keep=True)
    settings = run_settings(base, report.run_id)
    try:
        verdict = _verify(settings)
        batches = _decoded(settings, settings.topics.memories, MemoryBatch)
        usage = _decoded(settings, settings.topics.usage, UsageRecord)
    finally:
        clean_up(settings, AdminClient(settings.kafka_config()))
    print(
        f"\ndemo on the real server: {report.requests} requests, {len(batches)} batches, {report.memories} memories,"
        f" {report.parked} parked; {verdict.verdict}",
        file=sys.stderr,
    )
    assert verdict.ok, verdict.as_dict()
    assert verdict.requests == verdict.requests_extracted + verdict.requests_parked == report.requests
    assert batches and all(batch.extractor == "ollama" for batch in batches)
    assert len(usage) >= report.requests, "every request made at least one call, each with its usage record"
    answered = [record for record in usage if record.error_class != "connection_refused"]
    assert answered and all(record.tokens_in > 0 and record.tokens_out > 0 for record in answered)
    for batch in batches:  # lineage and attribution work for LLM memories as for heuristic ones
        for memory in batch.memories:
            assert memory.source_turn_indexes or memory.user_id == batch.user_id


class RestartMidStream:
    """The real extractor; the server is killed while the second request is in flight, then started again."""

    def __init__(self, inner: OllamaExtractor, server: RealOllama) -> None:
        self.inner, self.server, self.calls = inner, server, 0

    @property
    def name(self) -> str:
        return self.inner.name

    def extract(self, request: ExtractionRequest) -> ExtractionOutcome:
        self.calls += 1
        if self.calls != 2:
            return self.inner.extract(request)
        killer = threading.Timer(1.0, self.server.stop)
        killer.start()
        try:
            return self.inner.extract(request)
        finally:
            killer.join()
            self.server.start()

    def health(self) -> HealthProbe:
        return self.inner.health()

    def redriven(self) -> None:
        self.inner.redriven()

    def close(self) -> None:
        self.inner.close()


def _requests(count: int) -> list[ExtractionRequest]:
    said = ["I keep basil and mint on my balcony in Lisbon.", "My cat Pixel is four years old."]
    out = []
    for n in range(count):
        turns = tuple(
            WindowTurn(
                event_id=f"restart-{n}-{i}",
                turn_index=2 * n + i,
                role=Role.USER,
                speaker="Maya",
                user_id="maya",
                content=text,
                token_count=len(text.split()),
                event_time=T0 + timedelta(minutes=n, seconds=i),
            )
            for i, text in enumerate(said)
        )
        out.append(
            ExtractionRequest(
                request_id=f"restart-{n}",
                conversation_id="restart-1",
                tenant_id="default",
                user_id="maya",
                first_turn_index=2 * n,
                last_turn_index=2 * n + 1,
                turns=turns,
                priority=0.8,
                priority_class="fact",
                trigger="turn_count",
                token_count=sum(t.token_count for t in turns),
                created_at=T0,
            )
        )
    return out


@pytest.mark.slow  # minutes long: make test-all
def test_a_server_restart_mid_stream_leaves_every_request_accounted(
    kafka_settings: Settings, ollama_bin: Path, tmp_path: Path
) -> None:
    with RealOllama(ollama_bin, tmp_path / "ollama") as server:
        extraction = ExtractionSettings(
            fast_model=server.model,
            complex_model=server.model,
            worker_batch_size=2,
            min_confidence=0.0,
            max_output_tokens=256,
        )
        settings = _with_real_extractor(kafka_settings, server, extraction)
        codec, producer = settings.codec(), ReliableProducer(settings.kafka)
        requests = _requests(4)
        for request in requests:
            topic = settings.topics.requests
            producer.send(topic, codec.encode(request, topic), key=request.conversation_id.encode())
        producer.flush()
        extractor = RestartMidStream(OllamaExtractor.connect(server.url, extraction), server)
        counts = run_extract(settings, idle_exit_s=3.0, extractor=extractor)
    run_sink_blobs(settings, idle_exit_s=2.0)
    run_sink_qdrant(settings, idle_exit_s=2.0)
    verdict = _verify(settings)
    usage = _decoded(settings, settings.topics.usage, UsageRecord)
    print(f"\nrestart mid-stream: {counts}; {verdict.verdict}", file=sys.stderr)
    assert verdict.ok, verdict.as_dict()
    assert verdict.requests == 4 == counts.extracted + counts.dead_lettered
    assert counts.dead_lettered >= 1, "the request in flight when the server went down is parked"
    assert counts.failures.get(f"{extraction.fast_model}:connection_refused", 0) >= 1, counts.failures
    assert counts.extracted + counts.dead_lettered == 4
    after = [u for u in usage if u.request_id in {"restart-2", "restart-3"}]
    assert after and all(u.error_class != "connection_refused" for u in after), "the stream goes on after the restart"
    refused = [u for u in usage if u.error_class == "connection_refused"]
    assert refused and all(u.tokens_in == 0 for u in refused), "no answer, no tokens"
    assert all(u.tokens_in > 0 for u in usage if u.error_class != "connection_refused")
