"""The accounting verifier: every published turn ends accounted for exactly once, and so does what follows it.

It reads the topics (turns, skip records, requests, quarantine, DLQ, memories, usage) and the stores, and checks

    turns      each turn offset is skipped (a skip record naming it), inside exactly one extraction request,
               or quarantined: none is `lost`, none `duplicated` (two different verdicts)
    requests   each request id ended as a memory batch, is parked in the DLQ, or was quarantined by the fallback
               (a `task=summary` request: as a summary batch, pending until the summarise group passes it)
    memories   each memory of a batch is in the memory store under its deterministic id (or merged into
               another memory of the same user), and no memory id is stored twice
    windows    each window blob a batch's lineage names exists in the blob store
    usage      each batch an LLM produced has the usage record of its call

Label batches on the memories topic (`schemas.labels`: the labeller's labels of memories stored already) are
neither memory batches nor memories here: they are counted as `label_batches` and otherwise left out.

What a consumer group has not reached yet (offsets at or after its committed offset) is `pending`, not lost, so
`memlane verify` can run on a live pipeline; run it after the pipeline drained for a final verdict. The verdict
line is `ALL-TURNS-ACCOUNTED` or names what is wrong. Identical copies of a record (at-least-once redelivery)
are not duplicates: records are compared by their deterministic ids.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any

from confluent_kafka import Message, TopicPartition

from schemas.errors import CodecError
from schemas.events import ConversationTurn, ExtractionRequest, MemoryBatch, SkipRecord, UsageRecord
from schemas.labels import is_label_batch
from sinks.blobstore import BlobStore
from sinks.memory_store import MemoryStore
from streams.kafka.consumer import end_offsets, make_consumer, read_topic
from streams.kafka.context import StreamContext
from streams.kafka.headers import ErrorInfo
from streams.kafka.parking import message_headers

LLM_EXTRACTORS = frozenset({"ollama", "claude", "summariser", "summariser-claude"})
SUMMARY_EXTRACTORS = frozenset({"summariser", "summariser-claude"})
"""Batches of summaries: they account for `task=summary` requests only, never for an extract request."""


@dataclass(frozen=True)
class Groups:
    """The consumer groups whose committed offsets say what is still pending."""

    processors: str
    extract: str
    fallback: str
    sink_qdrant: str
    sink_blobs: str
    summarise: str | None = None
    """The summarise worker's group: `task=summary` requests are pending until it passes them."""


@dataclass(frozen=True)
class Discrepancy:
    kind: str
    topic: str
    partition: int
    offset: int
    detail: str


@dataclass
class VerifyReport:
    turns: int = 0
    turns_skipped: int = 0
    turns_in_requests: int = 0
    turns_quarantined: int = 0
    turns_pending: int = 0
    turns_in_open_windows: int = 0
    turns_lost: int = 0
    turns_duplicated: int = 0
    requests: int = 0
    requests_extracted: int = 0
    requests_parked: int = 0
    requests_quarantined: int = 0
    requests_pending: int = 0
    requests_lost: int = 0
    memory_batches: int = 0
    label_batches: int = 0
    memories: int = 0
    memories_stored: int = 0
    memories_pending: int = 0
    memories_missing: int = 0
    memory_ids_twice: int = 0
    windows_missing: int = 0
    usage_missing: int = 0
    discrepancies: list[Discrepancy] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.discrepancies

    @property
    def verdict(self) -> str:
        if self.ok:
            return "ALL-TURNS-ACCOUNTED"
        parts = [f"TURNS-LOST={self.turns_lost}", f"TURNS-DUPLICATED={self.turns_duplicated}"]
        parts += [f"{name.upper()}={value}" for name, value in self._other_problems().items() if value]
        return " ".join(parts)

    def _other_problems(self) -> dict[str, int]:
        return {
            "requests_lost": self.requests_lost,
            "memories_missing": self.memories_missing,
            "memory_ids_twice": self.memory_ids_twice,
            "windows_missing": self.windows_missing,
            "usage_missing": self.usage_missing,
        }

    def as_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["verdict"] = self.verdict
        data["ok"] = self.ok
        return data

    def note(self, kind: str, where: tuple[str, int, int], detail: str) -> None:
        self.discrepancies.append(Discrepancy(kind, where[0], where[1], where[2], detail))


Position = tuple[int, int]


class Verifier:
    """Reads what the pipeline wrote and accounts for it; `run()` returns the report."""

    def __init__(
        self,
        ctx: StreamContext,
        groups: Groups,
        *,
        store: MemoryStore | None = None,
        blobs: BlobStore | None = None,
        tenant_id: str | None = None,
        since: datetime | None = None,
        upstream_quarantine: Sequence[str] = (),
        open_windows: Callable[[], set[Position]] | None = None,
    ) -> None:
        self.ctx = ctx
        self.upstream_quarantine = tuple(upstream_quarantine)
        self.open_windows = open_windows
        self.groups = groups
        self.store = store
        self.blobs = blobs
        self.tenant_id = tenant_id
        self.since_ms = int(since.timestamp() * 1000) if since is not None else None
        self.report = VerifyReport()

    # --- reading --------------------------------------------------------------------------------
    def _messages(self, topic: str) -> Iterator[Message]:
        for message in read_topic(self.ctx.kafka, topic):
            if self.since_ms is not None:
                _kind, stamp = message.timestamp()
                if stamp < self.since_ms:
                    continue
            yield message

    def _decoded(self, topic: str, model: type[Any]) -> Iterator[tuple[Message, Any]]:
        for message in self._messages(topic):
            try:
                event = self.ctx.codec.decode(message.value() or b"", model, topic)
            except CodecError:
                yield message, None
                continue
            if self.tenant_id is None or getattr(event, "tenant_id", self.tenant_id) == self.tenant_id:
                yield message, event

    def _committed(self, group: str, topic: str) -> dict[int, int]:
        consumer = make_consumer(self.ctx.kafka, group)
        try:
            partitions = [TopicPartition(topic, p) for p in end_offsets(consumer, topic)]
            return {tp.partition: tp.offset for tp in consumer.committed(partitions, timeout=30)}
        finally:
            consumer.close()

    @staticmethod
    def _pending(committed: dict[int, int], partition: int, offset: int) -> bool:
        """Not yet reached by the group: at or after its committed offset (everything, when none is)."""
        mark = committed.get(partition, -1)
        return mark < 0 or offset >= mark

    # --- checks ---------------------------------------------------------------------------------
    def run(self) -> VerifyReport:
        requests = self._turns()
        batches = self._requests(requests)
        self._memories(batches)
        return self.report

    def _quarantined(self) -> dict[tuple[str, int, int], ErrorInfo]:
        found: dict[tuple[str, int, int], ErrorInfo] = {}
        for topic in (self.ctx.topics.quarantine, *self.upstream_quarantine):
            for message in self._messages(topic):
                info = ErrorInfo.from_headers(message_headers(message))
                if info is not None:
                    found[(info.topic, info.partition, info.offset)] = info
        return found

    def _turns(self) -> dict[str, tuple[Message, ExtractionRequest]]:
        topics, report = self.ctx.topics, self.report
        quarantined = self._quarantined()
        self._quarantine_index = quarantined
        verdicts: dict[Position, set[str]] = defaultdict(set)
        for _message, skip in self._decoded(topics.skipped, SkipRecord):
            if skip is not None and skip.source_partition is not None and skip.source_offset is not None:
                verdicts[(skip.source_partition, skip.source_offset)].add(f"skip:{skip.skip_id}")
        requests: dict[str, tuple[Message, ExtractionRequest]] = {}
        for message, request in self._decoded(topics.requests, ExtractionRequest):
            if request is None:
                continue
            requests.setdefault(request.request_id, (message, request))
            for turn in request.turns:
                if turn.source_partition is not None and turn.source_offset is not None:
                    verdicts[(turn.source_partition, turn.source_offset)].add(f"request:{request.request_id}")
        committed = self._committed(self.groups.processors, topics.turns)
        windowed = self.open_windows() if self.open_windows is not None else set()
        for message, turn in self._decoded(topics.turns, ConversationTurn):
            if turn is None and self.tenant_id is not None:
                continue  # an undecodable turn names no tenant
            partition, offset = message.partition() or 0, message.offset() or 0
            where = (topics.turns, partition, offset)
            report.turns += 1
            found = verdicts.get((partition, offset), set())
            if where in quarantined:
                found = {*found, "quarantine"}
            if not found:
                if self._pending(committed, partition, offset):
                    report.turns_pending += 1
                elif (partition, offset) in windowed:
                    report.turns_in_open_windows += 1
                else:
                    report.turns_lost += 1
                    report.note("turn_lost", where, "no skip record, request or quarantine entry names it")
            elif len(found) > 1:
                report.turns_duplicated += 1
                report.note("turn_duplicated", where, f"two verdicts: {sorted(found)}")
            else:
                (verdict,) = found
                if verdict == "quarantine":
                    report.turns_quarantined += 1
                elif verdict.startswith("skip:"):
                    report.turns_skipped += 1
                else:
                    report.turns_in_requests += 1
        return requests

    def _requests(self, requests: dict[str, tuple[Message, ExtractionRequest]]) -> dict[str, MemoryBatch]:
        topics, report = self.ctx.topics, self.report
        batches: dict[str, MemoryBatch] = {}
        positions: dict[str, tuple[Message, MemoryBatch]] = {}
        label_batches: set[str] = set()
        for message, batch in self._decoded(topics.memories, MemoryBatch):
            if batch is not None and is_label_batch(batch):
                label_batches.add(batch.batch_id)
            elif batch is not None:
                batches.setdefault(batch.batch_id, batch)
                positions.setdefault(batch.batch_id, (message, batch))
        self._batch_positions = positions
        report.label_batches = len(label_batches)
        extracted = {batch.request_id for batch in batches.values() if batch.extractor not in SUMMARY_EXTRACTORS}
        summarised = {batch.request_id for batch in batches.values() if batch.extractor in SUMMARY_EXTRACTORS}
        parked = {
            request.request_id
            for _message, request in self._decoded(topics.dlq, ExtractionRequest)
            if request is not None
        }
        fallback_quarantined = {
            (info.topic, info.partition, info.offset)
            for info in self._quarantine_index.values()
            if info.stage.startswith("fallback")
        }
        committed = self._committed(self.groups.extract, topics.requests)
        summarise_group = self.groups.summarise or self.groups.extract
        summary_committed = self._committed(summarise_group, topics.requests)
        for request_id, (message, request) in requests.items():
            report.requests += 1
            partition, offset = message.partition() or 0, message.offset() or 0
            where = (topics.requests, partition, offset)
            summary = request.task == "summary"
            if summary and request_id in summarised:
                report.requests_extracted += 1
            elif summary and request_id not in parked and where not in self._quarantine_index:
                if self._pending(summary_committed, partition, offset):
                    report.requests_pending += 1
                else:
                    report.requests_lost += 1
                    report.note("request_lost", where, f"summary request {request_id}: no summary, not in the DLQ")
            elif request_id in extracted:
                report.requests_extracted += 1
            elif request_id in parked:
                report.requests_parked += 1
            elif where in fallback_quarantined or where in self._quarantine_index:
                report.requests_quarantined += 1
            elif self._pending(committed, partition, offset):
                report.requests_pending += 1
            else:
                report.requests_lost += 1
                report.note("request_lost", where, f"request {request_id}: no memory batch, not in the DLQ")
        return batches

    def _memories(self, batches: dict[str, MemoryBatch]) -> None:
        topics, report = self.ctx.topics, self.report
        usage_requests = {u.request_id for _m, u in self._decoded(topics.usage, UsageRecord) if u is not None}
        sink_committed = self._committed(self.groups.sink_qdrant, topics.memories)
        for batch_id, (message, batch) in self._batch_positions.items():
            report.memory_batches += 1
            where = (topics.memories, message.partition() or 0, message.offset() or 0)
            if batch.extractor in LLM_EXTRACTORS and batch.request_id not in usage_requests:
                report.usage_missing += 1
                report.note("usage_missing", where, f"batch {batch_id} of {batch.extractor}: no usage record")
            if (
                self.blobs is not None
                and batch.lineage.window_blob
                and not self.blobs.exists(batch.lineage.window_blob)
            ):
                blobs_committed = self._committed(self.groups.sink_blobs, topics.requests)
                if batch.lineage.source_topic != topics.requests or not self._pending(
                    blobs_committed, batch.lineage.source_partition, batch.lineage.source_offset
                ):
                    report.windows_missing += 1
                    report.note("window_missing", where, f"window blob {batch.lineage.window_blob[:16]} not stored")
            for memory in batch.memories:
                report.memories += 1
                if self.store is None:
                    continue
                if self.store.get(batch.tenant_id, memory.memory_id) is not None:
                    report.memories_stored += 1
                elif self._pending(sink_committed, where[1], where[2]):
                    report.memories_pending += 1
                else:
                    report.memories_missing += 1
                    report.note("memory_missing", where, f"memory {memory.memory_id} of batch {batch_id}")
        if self.store is not None:
            self._ids_twice({batch.tenant_id for batch in batches.values()})

    def _ids_twice(self, tenants: Iterable[str]) -> None:
        for tenant in sorted(tenants):
            seen: dict[str, str] = {}
            for record in self.store.records(tenant) if self.store is not None else ():
                for memory_id in (record.memory_id, *record.merged_ids):
                    if memory_id in seen and seen[memory_id] != record.memory_id:
                        self.report.memory_ids_twice += 1
                        self.report.note(
                            "memory_id_twice",
                            ("memory-store", 0, 0),
                            f"{memory_id} in {seen[memory_id]} and {record.memory_id}",
                        )
                    seen.setdefault(memory_id, record.memory_id)


def verify(
    ctx: StreamContext,
    groups: Groups,
    *,
    store: MemoryStore | None = None,
    blobs: BlobStore | None = None,
    tenant_id: str | None = None,
    since: datetime | None = None,
    upstream_quarantine: Sequence[str] = (),
    open_windows: Callable[[], set[Position]] | None = None,
) -> VerifyReport:
    """Account for everything on the topics (and in the stores, when given).

    `upstream_quarantine`: quarantine topics of earlier stages that are not this deployment's own (a replay
    arm's processors quarantine into the replay's shared topic). `open_windows`: the turn positions
    `(partition, offset)` held in the processors' pending windows (their durable state), accounted as
    waiting for their window to close rather than lost."""
    verifier = Verifier(
        ctx,
        groups,
        store=store,
        blobs=blobs,
        tenant_id=tenant_id,
        since=since,
        upstream_quarantine=upstream_quarantine,
        open_windows=open_windows,
    )
    return verifier.run()


__all__ = ["Discrepancy", "Groups", "Verifier", "VerifyReport", "verify"]
