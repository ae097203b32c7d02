"""`UsageWriter`: usage records of local-model calls made outside a worker (RAG re-ranking in the search
service and `memlane context`) published to the usage topic, so the cost report sees every call.

A call's answer never waits for Kafka: `publish` queues the record (keyed by tenant and the task's
conversation id, like a worker's records) and returns; the producer is created on the first record, so
a service that never re-ranks never connects. `close` waits up to `flush_timeout_s` for the queued records
and logs, without raising, how many the broker did not acknowledge: a usage record is a report, and a lost
one is counted (`memlane_usage_records_lost_total`), not retried.
"""

from __future__ import annotations

import threading

import structlog

from schemas.errors import DeliveryError
from schemas.events import UsageRecord
from schemas.keys import conversation_key
from streams.kafka.context import StreamContext
from streams.kafka.producer import ReliableProducer
from streams.metrics import USAGE_RECORDS_LOST

log = structlog.get_logger(__name__)

FLUSH_TIMEOUT_S = 10.0


class UsageWriter:
    """Queues usage records for the usage topic; thread-safe (the search service calls it from its pool)."""

    def __init__(self, ctx: StreamContext, *, flush_timeout_s: float = FLUSH_TIMEOUT_S) -> None:
        self.ctx = ctx
        self.flush_timeout_s = flush_timeout_s
        self._producer: ReliableProducer | None = None
        self._lock = threading.Lock()
        self.queued = 0

    def publish(self, record: UsageRecord) -> None:
        topic = self.ctx.topics.usage
        value = self.ctx.codec.encode(record, topic)
        key = conversation_key(record.tenant_id, record.conversation_id).encode("utf-8")
        with self._lock:
            if self._producer is None:
                self._producer = ReliableProducer(self.ctx.kafka)
            self._producer.send(topic, value, key=key)
            self._producer.poll(0)
            self.queued += 1

    def close(self) -> None:
        with self._lock:
            producer, self._producer = self._producer, None
            queued, self.queued = self.queued, 0
        if producer is None:
            return
        reason = ""
        try:
            producer.close(self.flush_timeout_s)
        except DeliveryError as exc:
            reason = str(exc)
        lost = queued - producer.delivered
        if lost > 0:
            USAGE_RECORDS_LOST.inc(lost)
            log.warning("usage.not_delivered", records=lost, queued=queued, reason=reason or "delivery failed")


__all__ = ["UsageWriter"]
