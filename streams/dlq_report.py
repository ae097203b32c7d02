"""`memlane dlq report`: the failure taxonomy of extraction, per model, from the DLQ and the usage topic.

Two views, both rates per 1,000:

    requests  every message of the DLQ by (model, error class, attempt), split into *parked* (beyond the
              fallback group's committed offset: waiting) and *drained* (handled by the fallback: turned
              into memories, re-parked, or quarantined), per 1,000 extraction requests (first deliveries of
              the requests topic; re-driven copies are not counted twice)
    calls     every LLM call of the usage topic by (provider, model), its failures by error class, per
              1,000 calls of that model, with its tokens and cost

The model of a parked request is the `memlane.error.model` header (the model of its last LLM call, or the
extractor's name when no model was called, e.g. while the circuit breaker is open); messages parked before
that header existed report `unknown`. The report reads; it joins no group and commits nothing. The running
workers export the same taxonomy as `memlane_dlq_parked_total{model,error_class}` and
`memlane_llm_calls_total{provider,model,outcome}`.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from confluent_kafka import TopicPartition

from schemas.errors import CodecError
from schemas.events import ExtractionRequest, UsageRecord
from streams.kafka.consumer import end_offsets, make_consumer, read_topic
from streams.kafka.context import StreamContext
from streams.kafka.headers import ErrorInfo, redrive_count
from streams.kafka.parking import message_headers

UNKNOWN = "unknown"


def per_1000(count: int, total: int) -> float:
    return 1000.0 * count / total if total else 0.0


@dataclass(frozen=True, order=True)
class FailureKey:
    model: str
    error_class: str
    attempt: int


@dataclass
class FailureCounts:
    parked: int = 0
    drained: int = 0

    @property
    def total(self) -> int:
        return self.parked + self.drained


@dataclass
class ModelCalls:
    """The LLM calls of one (provider, model) in the usage topic."""

    calls: int = 0
    failures: Counter[str] = field(default_factory=Counter)
    tokens_in: int = 0
    tokens_out: int = 0
    cost_usd: float = 0.0
    latency_ms: list[float] = field(default_factory=list)

    @property
    def failed(self) -> int:
        return sum(self.failures.values())


@dataclass
class DlqReport:
    """What `dlq_report` found: extraction requests, DLQ messages by failure, and LLM calls by model."""

    requests: int = 0
    failures: dict[FailureKey, FailureCounts] = field(default_factory=dict)
    calls: dict[tuple[str, str], ModelCalls] = field(default_factory=dict)
    undecodable: int = 0

    @property
    def parked(self) -> int:
        return sum(counts.parked for counts in self.failures.values())

    @property
    def drained(self) -> int:
        return sum(counts.drained for counts in self.failures.values())

    @property
    def dead_lettered_requests(self) -> int:
        """First-attempt DLQ messages: requests that extraction could not handle."""
        return sum(counts.total for key, counts in self.failures.items() if key.attempt == 1)

    def dlq_rate_per_1000(self) -> float:
        return per_1000(self.dead_lettered_requests, self.requests)

    def failure_rows(self) -> list[dict[str, Any]]:
        return [
            {
                "model": key.model,
                "error_class": key.error_class,
                "attempt": key.attempt,
                "parked": counts.parked,
                "drained": counts.drained,
                "per_1000_requests": per_1000(counts.total, self.requests),
            }
            for key, counts in sorted(self.failures.items(), key=lambda item: (-item[1].total, item[0]))
        ]

    def call_rows(self) -> list[dict[str, Any]]:
        rows: list[dict[str, Any]] = []
        for (provider, model), calls in sorted(self.calls.items()):
            rows.append(
                {
                    "provider": provider,
                    "model": model,
                    "calls": calls.calls,
                    "failed": calls.failed,
                    "failures_per_1000_calls": per_1000(calls.failed, calls.calls),
                    "by_class": {name: per_1000(n, calls.calls) for name, n in calls.failures.most_common()},
                    "tokens_in": calls.tokens_in,
                    "tokens_out": calls.tokens_out,
                    "cost_usd": calls.cost_usd,
                }
            )
        return rows

    def as_dict(self) -> dict[str, Any]:
        return {
            "requests": self.requests,
            "dead_lettered_requests": self.dead_lettered_requests,
            "dlq_rate_per_1000": self.dlq_rate_per_1000(),
            "parked": self.parked,
            "drained": self.drained,
            "undecodable": self.undecodable,
            "failures": self.failure_rows(),
            "calls": self.call_rows(),
        }


def _committed(ctx: StreamContext, topic: str, group: str) -> dict[int, int]:
    consumer = make_consumer(ctx.kafka, group)
    try:
        partitions = [TopicPartition(topic, p) for p in end_offsets(consumer, topic)]
        return {tp.partition: tp.offset for tp in consumer.committed(partitions, timeout=30)}
    finally:
        consumer.close()


class _Reader:
    def __init__(self, ctx: StreamContext, tenant_id: str | None) -> None:
        self.ctx = ctx
        self.tenant_id = tenant_id
        self.undecodable = 0

    def wanted(self, value: bytes | None, model: type[Any], topic: str) -> Any | None:
        """The decoded event when it belongs to the asked tenant (any event when none was asked)."""
        try:
            event = self.ctx.codec.decode(value or b"", model, topic)
        except CodecError:
            self.undecodable += 1
            return None
        return event if self.tenant_id is None or event.tenant_id == self.tenant_id else None


def dlq_report(ctx: StreamContext, fallback_group: str, *, tenant_id: str | None = None) -> DlqReport:
    """The failure taxonomy of the deployment `ctx` names (of one tenant when `tenant_id` is given)."""
    topics = ctx.topics
    report = DlqReport()
    reader = _Reader(ctx, tenant_id)
    for message in read_topic(ctx.kafka, topics.requests):
        if redrive_count(message_headers(message)):
            continue
        if tenant_id is None or reader.wanted(message.value(), ExtractionRequest, topics.requests) is not None:
            report.requests += 1
    committed = _committed(ctx, topics.dlq, fallback_group)
    for message in read_topic(ctx.kafka, topics.dlq):
        if tenant_id is not None and reader.wanted(message.value(), ExtractionRequest, topics.dlq) is None:
            continue
        info = ErrorInfo.from_headers(message_headers(message))
        key = FailureKey(
            model=(info.model if info else "") or UNKNOWN,
            error_class=info.error_class if info else UNKNOWN,
            attempt=info.attempts if info else 1,
        )
        counts = report.failures.setdefault(key, FailureCounts())
        mark = committed.get(message.partition() or 0, -1)
        if mark >= 0 and (message.offset() or 0) < mark:
            counts.drained += 1
        else:
            counts.parked += 1
    for message in read_topic(ctx.kafka, topics.usage):
        usage = reader.wanted(message.value(), UsageRecord, topics.usage)
        if usage is None:
            continue
        calls = report.calls.setdefault((usage.provider, usage.model), ModelCalls())
        calls.calls += 1
        calls.tokens_in += usage.tokens_in
        calls.tokens_out += usage.tokens_out
        calls.cost_usd += usage.cost_usd
        calls.latency_ms.append(usage.latency_ms)
        if usage.error_class:
            calls.failures[usage.error_class] += 1
    report.undecodable = reader.undecodable
    return report


__all__ = ["DlqReport", "FailureCounts", "FailureKey", "ModelCalls", "dlq_report", "per_1000"]
