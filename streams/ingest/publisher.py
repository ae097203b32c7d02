"""`TurnPublisher`: what chat platforms use to publish conversation turns into memlane.

Each turn is a validated `ConversationTurn`, Avro-encoded by the configured codec, keyed by tenant and
conversation (`schemas.keys.conversation_key`: a conversation keeps its order on one partition, and two
tenants' conversations with the same id never share a key), and sent through the
idempotent acks=all producer. Delivery reports reach the caller's callback and the running
`PublishSummary`; `close()` flushes and says how many were sent and how many failed — a failed
delivery is reported, never silently dropped. The Kafka timestamp is the publish time (the broker's
retention clock); the turn's own event time travels in the event, so replaying old history is not
deleted by retention on arrival. Content over the claim-check threshold is stored in
the blob store first (when one is given) and the event carries a BlobRef and a short preview.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from types import TracebackType
from typing import Any, Protocol

from schemas.events import ConversationTurn
from schemas.keys import conversation_key
from streams.kafka.context import StreamContext
from streams.kafka.producer import DeliveryCallback, ReliableProducer


class ClaimCheck(Protocol):
    """Stores large content and returns a reference to it (the blob store's claim-check)."""

    def offload(self, turn: ConversationTurn) -> ConversationTurn: ...


@dataclass
class PublishSummary:
    """Counts for one publishing session."""

    sent: int = 0
    delivered: int = 0
    failed: int = 0
    rejected: int = 0
    offloaded: int = 0
    failures: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "sent": self.sent,
            "delivered": self.delivered,
            "failed": self.failed,
            "rejected": self.rejected,
            "offloaded": self.offloaded,
        }


class TurnPublisher:
    """Publishes ConversationTurn events to the turns topic. Use as a context manager."""

    def __init__(
        self,
        ctx: StreamContext,
        *,
        claim_check: ClaimCheck | None = None,
        topic: str | None = None,
        **producer_overrides: Any,
    ) -> None:
        self.topic = topic or ctx.topics.turns
        self.codec = ctx.codec
        self.claim_check = claim_check
        self.producer = ReliableProducer(ctx.kafka, **producer_overrides)
        self.summary = PublishSummary()

    def publish(self, turn: ConversationTurn, on_delivery: DeliveryCallback | None = None) -> None:
        """Encode and queue one turn; its delivery report arrives through `on_delivery` and the summary."""
        if self.claim_check is not None and turn.content is not None:
            offloaded = self.claim_check.offload(turn)
            if offloaded is not turn:
                self.summary.offloaded += 1
                turn = offloaded
        value = self.codec.encode(turn, self.topic)
        self.producer.send(
            self.topic,
            value,
            key=conversation_key(turn.tenant_id, turn.conversation_id).encode("utf-8"),
            on_delivery=on_delivery,
        )
        self.summary.sent += 1

    def poll(self, timeout: float = 0.0) -> None:
        """Serve delivery callbacks."""
        self.producer.poll(timeout)

    def _sync_summary(self) -> PublishSummary:
        summary = self.summary
        summary.delivered = self.producer.delivered
        summary.failed = self.producer.failed
        summary.failures = [f"{r.key!r}: {r.error}" for r in self.producer.errors[:100]]
        return summary

    def flush(self, timeout: float = 60.0) -> PublishSummary:
        """Wait for every delivery report; the summary then counts delivered and failed turns."""
        try:
            self.producer.flush(timeout)
        finally:
            self._sync_summary()
        return self.summary

    def close(self, timeout: float = 60.0) -> PublishSummary:
        """Flush everything and release the producer; the summary then accounts for every turn sent."""
        try:
            return self.flush(timeout)
        finally:
            self.producer.close(timeout)

    def __enter__(self) -> TurnPublisher:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()


__all__ = ["ClaimCheck", "PublishSummary", "TurnPublisher"]
