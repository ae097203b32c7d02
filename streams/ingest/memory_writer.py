"""`MemoryWriter`: direct memory writes published to the memories topic, durable when `write` returns.

The write API and `memlane import` do not touch the store: they publish `MemoryBatch` events (planned by
`processors.memory_write`, deterministic ids) to the topic the memory sink consumes, keyed by tenant and
user like extracted batches, through the idempotent acks=all producer. `write` waits for the broker's
acknowledgements and raises `DeliveryError` when any batch was not acknowledged, so an HTTP 202 means the
memories are on the topic. Thread-safe: the search service calls it from its thread pool.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from types import TracebackType

from processors.memory_write import WritePlan, plan_write
from schemas.errors import ValidationError
from schemas.keys import person_key
from schemas.memory_input import MemoryInput
from streams.kafka.context import StreamContext
from streams.kafka.producer import ReliableProducer
from streams.metrics import MEMORIES_PUBLISHED

FLUSH_TIMEOUT_S = 30.0


class MemoryWriter:
    """Publishes written memories of a tenant as memory batches (extractor "api" or "import")."""

    def __init__(self, ctx: StreamContext, *, extractor: str = "api", flush_timeout_s: float = FLUSH_TIMEOUT_S) -> None:
        self.ctx = ctx
        self.extractor = extractor
        self.flush_timeout_s = flush_timeout_s
        self.producer = ReliableProducer(ctx.kafka)
        self._lock = threading.Lock()

    def write(self, tenant_id: str, inputs: Sequence[MemoryInput]) -> list[str]:
        """Publish `inputs` under `tenant_id`; returns each input's memory id, in order, once acknowledged."""
        plan = plan_write(tenant_id, inputs, extractor=self.extractor)
        topic = self.ctx.topics.memories
        encoded = [(self.ctx.codec.encode(batch, topic), batch) for batch in plan.batches]
        for value, _batch in encoded:
            if len(value) > self.producer.value_limit:
                raise ValidationError(
                    f"a batch of written memories encodes to {len(value)} bytes, over the "
                    f"{self.producer.value_limit}-byte message limit: send fewer memories at once",
                    field="memories",
                )
        with self._lock:
            for value, batch in encoded:
                self.producer.send(topic, value, key=person_key(tenant_id, batch.user_id).encode("utf-8"))
            self.producer.flush(self.flush_timeout_s)
            self.producer.raise_on_failures()
        MEMORIES_PUBLISHED.labels(source=self.extractor).inc(len(inputs))
        return list(plan.memory_ids)

    def plan(self, tenant_id: str, inputs: Sequence[MemoryInput]) -> WritePlan:
        """What `write` would publish (for dry runs)."""
        return plan_write(tenant_id, inputs, extractor=self.extractor)

    def close(self) -> None:
        self.producer.close(self.flush_timeout_s)

    def __enter__(self) -> MemoryWriter:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()


__all__ = ["MemoryWriter"]
