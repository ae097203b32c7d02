"""The records a batch sends: extraction requests, skip records and quarantined input, encoded and counted.

An `Output` is a message ready for the producer (role, key, value bytes, headers). Requests and skip
records are Avro-encoded with the configured codec and keyed by tenant + conversation; a quarantined message
keeps its original key and bytes with `memlane.error.*` headers (`streams.kafka.headers`) saying what failed
and where it was read. `count_delivered` updates the Prometheus counters once a batch's outputs are
acknowledged, so the counters never run ahead of what is on the topics.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from enum import StrEnum

import structlog

from processors.pipeline import Decision
from schemas.codec import EventCodec
from schemas.events import ExtractionRequest, SkipRecord
from schemas.keys import conversation_key
from streams.kafka.headers import ErrorInfo, without_error_headers
from streams.kafka.parking import Overflow, fit
from streams.kafka.topic_catalogue import TopicNames
from streams.metrics import QUARANTINED, REQUESTS_OUT, TOKENS_FORWARDED, TURNS_SKIPPED

log = structlog.get_logger(__name__)

STAGE = "processors"
"""The `memlane.error.stage` of input the processors quarantine."""


class OutputRole(StrEnum):
    REQUEST = "request"
    SKIP = "skip"
    QUARANTINE = "quarantine"


@dataclass(frozen=True)
class Output:
    """One message to produce."""

    role: OutputRole
    key: bytes | None
    value: bytes
    headers: tuple[tuple[str, bytes], ...] = ()
    labels: tuple[str, str] = ("", "")
    """Metric labels: (trigger, priority class), (stage, reason) or (stage, error class)."""
    tokens: int = 0
    """Turn tokens a request forwards."""


def topic_for(role: OutputRole, topics: TopicNames) -> str:
    if role is OutputRole.REQUEST:
        return topics.requests
    if role is OutputRole.SKIP:
        return topics.skipped
    return topics.quarantine


def decision_outputs(decision: Decision, codec: EventCodec, topics: TopicNames) -> list[Output]:
    """A decision's requests and skip records as messages keyed by conversation id."""
    outputs = [request_output(r, codec, topics) for r in decision.requests]
    outputs.extend(skip_output(s, codec, topics) for s in decision.skips)
    return outputs


def request_output(request: ExtractionRequest, codec: EventCodec, topics: TopicNames) -> Output:
    return Output(
        OutputRole.REQUEST,
        conversation_key(request.tenant_id, request.conversation_id).encode("utf-8"),
        codec.encode(request, topics.requests),
        labels=(request.trigger, request.priority_class),
        tokens=request.token_count,
    )


def skip_output(skip: SkipRecord, codec: EventCodec, topics: TopicNames) -> Output:
    return Output(
        OutputRole.SKIP,
        conversation_key(skip.tenant_id, skip.conversation_id).encode("utf-8"),
        codec.encode(skip, topics.skipped),
        labels=(skip.stage.value, skip.reason),
    )


def quarantine_output(
    key: bytes | None,
    value: bytes,
    headers: Sequence[tuple[str, bytes | str | None]],
    info: ErrorInfo,
    *,
    limit: int | None = None,
    overflow: Overflow | None = None,
) -> Output:
    """The original message with its previous error headers replaced by `info`'s (cut to `limit`, its full
    bytes kept in `overflow`, when too large to copy)."""
    kept = without_error_headers(headers) + info.to_headers()
    referrer = f"parked:{info.topic}/{info.partition}/{info.offset}"
    value, kept = fit(value, kept, limit if limit is not None else len(value), overflow, referrer)
    return Output(OutputRole.QUARANTINE, key, value, tuple(kept), labels=(info.stage, info.error_class))


def count_delivered(outputs: Iterable[Output]) -> None:
    """Counts acknowledged outputs in the Prometheus metrics (and logs each quarantined message)."""
    for output in outputs:
        first, second = output.labels
        if output.role is OutputRole.REQUEST:
            REQUESTS_OUT.labels(trigger=first, priority_class=second).inc()
            TOKENS_FORWARDED.inc(output.tokens)
        elif output.role is OutputRole.SKIP:
            TURNS_SKIPPED.labels(stage=first, reason=second).inc()
        else:
            QUARANTINED.labels(stage=first, error_class=second).inc()
            info = ErrorInfo.from_headers(output.headers)
            log.warning(
                "message.quarantined",
                stage=first,
                error_class=second,
                topic=info.topic if info else None,
                partition=info.partition if info else None,
                offset=info.offset if info else None,
                error=(info.message if info else "")[:300],
            )


__all__ = [
    "STAGE",
    "Output",
    "OutputRole",
    "count_delivered",
    "decision_outputs",
    "quarantine_output",
    "request_output",
    "skip_output",
    "topic_for",
]
