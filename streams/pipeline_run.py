"""`memlane run`: the whole pipeline once, on embedded defaults, in a workspace of its own.

One run gets a run id: its topics (`run-<id>.memlane.*`), consumer groups, processors app id and local
state (`<data dir>/runs/<id>`: RocksDB tables, blob store, embedded Qdrant) are its own, so a run is
repeatable against any broker and never mixes with earlier data. Stages run one after another, each
until its input is drained: publish (with the claim check) -> processors (a faust worker process) ->
extraction (Ollama when it answers, the heuristic extractor otherwise) -> fallback (only with an
Anthropic key) -> blob and Qdrant sinks -> one search. The accounting is read back from the topics.
"""

from __future__ import annotations

import shutil
import uuid
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import structlog
from confluent_kafka import KafkaError, KafkaException
from confluent_kafka.admin import AdminClient

from schemas.errors import MemlaneError
from schemas.events import ConversationTurn, ExtractionRequest, MemoryBatch, SkipRecord
from schemas.labels import is_label_batch
from sinks.memory_store import SearchFilters
from streams.dlq import dlq_status
from streams.ingest.publisher import PublishSummary
from streams.ingest.turn_files import InputFormat, load_turns
from streams.kafka.consumer import read_topic
from streams.kafka.provision import provision
from streams.kafka.topic_catalogue import TopicNames
from streams.processor_app.config import ticks_topic_name
from streams.processor_app.runtime import TABLE_NAME
from streams.settings import Settings
from streams.wiring.processes import run_worker_process
from streams.wiring.stores import blob_store, memory_store, publisher
from streams.wiring.workers import run_extract, run_fallback, run_sink_blobs, run_sink_qdrant

log = structlog.get_logger(__name__)


@dataclass
class RunReport:
    run_id: str
    published: PublishSummary = field(default_factory=PublishSummary)
    turns_in_requests: int = 0
    turns_skipped: int = 0
    skip_reasons: Counter[str] = field(default_factory=Counter)
    quarantined: int = 0
    requests: int = 0
    request_tokens: int = 0
    turn_tokens: int = 0
    memory_batches: int = 0
    memories: int = 0
    parked: int = 0
    extractor: str = ""
    stored_memories: int = 0
    windows_stored: int = 0
    search_query: str = ""
    search_hits: list[tuple[float, str, str]] = field(default_factory=list)
    cleaned: list[str] = field(default_factory=list)
    """What the clean-up removed (topics, groups, the workspace)."""

    @property
    def accounted(self) -> bool:
        return self.turns_in_requests + self.turns_skipped + self.quarantined >= self.published.delivered


def run_settings(base: Settings, run_id: str) -> Settings:
    """Settings whose topics, groups, app id and local state belong to this run only."""
    workspace = (base.state_dir / "runs" / run_id).resolve()
    topics = TopicNames().prefixed(f"run-{run_id}.")
    extraction = base.extraction.model_copy(
        update={
            "worker_group_id": f"memlane-run-{run_id}-extract",
            "fallback_group_id": f"memlane-run-{run_id}-fallback",
        }
    )
    processor_app = base.processor_app.model_copy(
        update={"app_id": f"memlane-run-{run_id}", "data_dir": workspace / "processors", "drain_flush_s": 2.0}
    )
    sinks = base.sinks.model_copy(
        update={
            "qdrant_path": workspace / "qdrant",
            "qdrant_sink_group_id": f"memlane-run-{run_id}-qdrant",
            "blob_sink_group_id": f"memlane-run-{run_id}-blobs",
        }
    )
    return base.model_copy(
        update={
            "topics": topics,
            "state_dir": workspace,
            "extraction": extraction,
            "processor_app": processor_app,
            "sinks": sinks,
        }
    )


def _run_processors(settings: Settings, idle_exit_s: float = 6.0) -> None:
    code = run_worker_process(settings, "processors", idle_exit_s=idle_exit_s)
    if code != 0:
        raise MemlaneError(f"the processors worker exited with {code}")


def _account(settings: Settings, report: RunReport) -> None:
    codec, kafka, topics = settings.codec(), settings.kafka, settings.topics
    for message in read_topic(kafka, topics.requests):
        request = codec.decode(message.value() or b"", ExtractionRequest, topics.requests)
        report.requests += 1
        report.turns_in_requests += len(request.turns)
        report.request_tokens += request.token_count
    for message in read_topic(kafka, topics.skipped):
        skip = codec.decode(message.value() or b"", SkipRecord, topics.skipped)
        report.turns_skipped += 1
        report.skip_reasons[f"{skip.stage.value}:{skip.reason}"] += 1
    report.quarantined = sum(1 for _ in read_topic(kafka, topics.quarantine))
    extractors: Counter[str] = Counter()
    for message in read_topic(kafka, topics.memories):
        batch = codec.decode(message.value() or b"", MemoryBatch, topics.memories)
        if is_label_batch(batch):
            continue  # the labeller's labels of memories counted already
        report.memory_batches += 1
        report.memories += len(batch.memories)
        extractors[batch.extractor] += 1
    report.extractor = ", ".join(f"{name} ({count})" for name, count in extractors.most_common())
    report.parked = dlq_status(kafka, topics.dlq, settings.extraction.fallback_group_id).parked


def run_stages(settings: Settings, turns: Sequence[ConversationTurn], report: RunReport) -> RunReport:
    """Publish `turns` and run every stage after the other until its input is drained; fill `report`."""
    report.turn_tokens = sum(turn.token_count for turn in turns)
    with blob_store(settings) as blobs:
        turn_publisher = publisher(settings, blobs)
        for turn in turns:
            turn_publisher.publish(turn)
        report.published = turn_publisher.close()
    _run_processors(settings)
    run_extract(settings, idle_exit_s=3.0)
    if settings.anthropic_api_key is not None:
        run_fallback(settings, idle_exit_s=3.0)
    blob_counts = run_sink_blobs(settings, idle_exit_s=3.0)
    report.windows_stored = blob_counts.created + blob_counts.existing
    run_sink_qdrant(settings, idle_exit_s=3.0)
    _account(settings, report)
    return report


def start_run(base: Settings) -> tuple[Settings, RunReport, AdminClient]:
    """A new run: its own settings (topics, groups, workspace), its report, its topics provisioned."""
    run_id = uuid.uuid4().hex[:8]
    settings = run_settings(base, run_id)
    admin = AdminClient(settings.kafka_config())
    provision(admin, settings.topic_catalogue())
    return settings, RunReport(run_id=run_id), admin


def run_pipeline(
    base: Settings, source: Path, conversation: str, question: str | None = None, *, keep: bool = False
) -> RunReport:
    """Run every stage once over one LoCoMo conversation; the caller provides a broker that answers.

    Afterwards the run's topics, consumer groups and workspace are deleted, unless `keep`."""
    settings, report, admin = start_run(base)
    try:
        turns, _ = load_turns(source, InputFormat.LOCOMO, tenant_id=settings.tenant_id, conversations=[conversation])
        if not turns:
            raise MemlaneError(f"no turns for conversation {conversation} in {source}")
        run_stages(settings, turns, report)
        with memory_store(settings) as store:
            report.stored_memories = store.count(settings.tenant_id)
            report.search_query = question or f"What does {turns[0].speaker} care about?"
            hits = store.search(
                settings.tenant_id, report.search_query, SearchFilters(conversation_id=conversation), limit=5
            )
            report.search_hits = [(hit.score, hit.record.kind.value, hit.record.text) for hit in hits]
    finally:
        if not keep:
            report.cleaned = clean_up(settings, admin)
    return report


def run_topics(settings: Settings) -> list[str]:
    """Every topic a run creates: the catalogue's, and the processors app's tick and changelog topics."""
    app_id = settings.processor_app.app_id
    return [*settings.topics.all(), ticks_topic_name(settings.processor_app), f"{app_id}-{TABLE_NAME}-changelog"]


def run_groups(settings: Settings) -> list[str]:
    """Every consumer group a run's workers join."""
    ex, sinks = settings.extraction, settings.sinks
    groups = [settings.processor_app.app_id, ex.worker_group_id, ex.fallback_group_id]
    return [*groups, sinks.qdrant_sink_group_id, sinks.blob_sink_group_id]


def clean_up(settings: Settings, admin: AdminClient) -> list[str]:
    """Delete the run's topics, consumer groups and workspace; what could not be deleted is logged, not raised."""
    removed: list[str] = []
    existing = set(admin.list_topics(timeout=30).topics)
    topics = [topic for topic in run_topics(settings) if topic in existing]
    if topics:
        for topic, future in admin.delete_topics(topics, operation_timeout=30).items():
            try:
                future.result(30)
                removed.append(f"topic {topic}")
            except KafkaException as exc:
                log.warning("run.cleanup_failed", topic=topic, error=str(exc.args[0]))
    for group, future in admin.delete_consumer_groups(run_groups(settings), request_timeout=30).items():
        try:
            future.result(30)
            removed.append(f"group {group}")
        except KafkaException as exc:
            if exc.args[0].code() != KafkaError.GROUP_ID_NOT_FOUND:
                log.warning("run.cleanup_failed", group=group, error=str(exc.args[0]))
    shutil.rmtree(settings.state_dir, ignore_errors=True)
    removed.append(f"workspace {settings.state_dir}")
    return removed


__all__ = ["RunReport", "clean_up", "run_pipeline", "run_settings", "run_stages", "start_run"]
