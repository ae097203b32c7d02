"""`RequestPublisher`: summary requests (level-3 compactions) published to the requests topic, durable when
`publish` returns.

`POST /v1/summaries/{id}:compact` and `memlane summary --compact` plan the request from the stored summaries
(`sinks.search.summaries_api.plan_compaction`) and publish it here, keyed by tenant and conversation like the
processors' requests, through the idempotent acks=all producer; `publish` waits for the acknowledgement and
raises `DeliveryError` when there is none. Thread-safe.
"""

from __future__ import annotations

import threading

from schemas.events import ExtractionRequest
from schemas.keys import conversation_key
from streams.kafka.context import StreamContext
from streams.kafka.producer import ReliableProducer

FLUSH_TIMEOUT_S = 30.0


class RequestPublisher:
    """Publishes extraction requests of any task (summary requests in practice) to the requests topic."""

    def __init__(self, ctx: StreamContext, *, flush_timeout_s: float = FLUSH_TIMEOUT_S) -> None:
        self.ctx = ctx
        self.flush_timeout_s = flush_timeout_s
        self.producer = ReliableProducer(ctx.kafka)
        self._lock = threading.Lock()

    def publish(self, request: ExtractionRequest) -> None:
        topic = self.ctx.topics.requests
        value = self.ctx.codec.encode(request, topic)
        key = conversation_key(request.tenant_id, request.conversation_id).encode("utf-8")
        with self._lock:
            self.producer.send(topic, value, key=key)
            self.producer.flush(self.flush_timeout_s)
            self.producer.raise_on_failures()

    def close(self) -> None:
        self.producer.close(self.flush_timeout_s)


__all__ = ["RequestPublisher"]
