"""`TurnPublisher`: what chat platforms use to publish conversation turns into memlane.

Each turn is a validated `ConversationTurn`, Avro-encoded by the configured codec, keyed by tenant and
conversation (`schemas.keys.conversation_key`: a conversation keeps its order on one partition, and two
tenants' conversations with the same id never share a key), and sent through the idempotent acks=all
producer. Publishing is two steps, so a caller can refuse a whole file before anything is sent:

    prepared = publisher.prepare(turn)      # claim check, limits, encoding; `ValidationError` names why not
    publisher.send(prepared, tag=line)      # queue it; `tag` comes back in the summary if delivery fails

`publish(turn)` does both. Content over the claim-check threshold goes to the blob store first and the event
carries a BlobRef and a preview. A turn is refused when its event time lies more than `max_future_s` ahead
of now (a clock far ahead would hold its window open), or when it still encodes to more than the largest
value of a message. Delivery reports reach the caller's callback and the running `PublishSummary`, which
names the tags (lines) not delivered: ids are deterministic, so re-publishing exactly those is safe. `flush`
waits at least as long as the producer may retry a message (`message.timeout.ms`). The Kafka timestamp is
the publish time (the broker's retention clock); the turn's own event time travels in the event.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass, field
from datetime import timedelta
from types import TracebackType
from typing import Any, Protocol

from schemas.errors import DeliveryError, ValidationError
from schemas.events import MAX_FUTURE_EVENT_S, ConversationTurn, utc_now
from schemas.keys import conversation_key
from streams.kafka.context import StreamContext
from streams.kafka.producer import DeliveryCallback, DeliveryReport, ReliableProducer

FLUSH_MARGIN_S = 10.0


class ClaimCheck(Protocol):
    """Stores large content and returns a reference to it (the blob store's claim-check)."""

    def offload(self, turn: ConversationTurn) -> ConversationTurn: ...


@dataclass(frozen=True)
class PreparedTurn:
    """A turn ready to send: its key and encoded value (claim check done)."""

    turn: ConversationTurn
    key: bytes
    value: bytes
    offloaded: bool


@dataclass
class PublishSummary:
    """Counts for one publishing session, and what was not delivered."""

    sent: int = 0
    delivered: int = 0
    failed: int = 0
    rejected: int = 0
    offloaded: int = 0
    failures: list[str] = field(default_factory=list)
    undelivered: list[str] = field(default_factory=list)
    """Tags (line numbers for `memlane publish`) of turns whose delivery failed or was never confirmed."""

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
        max_future_s: float = MAX_FUTURE_EVENT_S,
        **producer_overrides: Any,
    ) -> None:
        self.topic = topic or ctx.topics.turns
        self.codec = ctx.codec
        self.claim_check = claim_check
        self.max_future_s = max_future_s
        self.producer = ReliableProducer(ctx.kafka, **producer_overrides)
        timeout_ms = producer_overrides.get("message.timeout.ms", ctx.kafka.delivery_timeout_s * 1000)
        self.retry_window_s = float(timeout_ms) / 1000.0
        self.summary = PublishSummary()
        self._pending: dict[int, str] = {}
        self._next = 0

    def prepare(self, turn: ConversationTurn) -> PreparedTurn:
        """Claim-check, check and encode `turn`; `ValidationError` (naming the field) when it cannot be sent."""
        ahead = (turn.event_time - utc_now()).total_seconds()
        if ahead > self.max_future_s:
            limit = timedelta(seconds=self.max_future_s)
            raise ValidationError(
                f"event_time {turn.event_time.isoformat()} is {ahead:.0f} s in the future (at most {limit} is "
                "accepted: MEMLANE_PROCESSORS__MAX_FUTURE_EVENT_S)",
                field="event_time",
            )
        offloaded = False
        if self.claim_check is not None and turn.content is not None:
            checked = self.claim_check.offload(turn)
            offloaded, turn = checked is not turn, checked
        value = self.codec.encode(turn, self.topic)
        if len(value) > self.producer.value_limit:
            raise ValidationError(
                f"the turn encodes to {len(value)} bytes, over the {self.producer.value_limit}-byte limit of a "
                "message (its attachments, metadata or ids are too large; content is claim-checked)",
                field="size",
            )
        key = conversation_key(turn.tenant_id, turn.conversation_id).encode("utf-8")
        return PreparedTurn(turn, key, value, offloaded)

    def send(
        self, prepared: PreparedTurn, *, tag: str | None = None, on_delivery: DeliveryCallback | None = None
    ) -> None:
        """Queue a prepared turn; its delivery report reaches `on_delivery` and the summary (by `tag`)."""
        ticket = self._next
        self._next += 1
        self._pending[ticket] = tag if tag is not None else prepared.turn.event_id

        def delivered(report: DeliveryReport) -> None:
            name = self._pending.pop(ticket, None)
            if not report.ok and name is not None:
                self.summary.undelivered.append(name)
            if on_delivery is not None:
                on_delivery(report)

        self.producer.send(self.topic, prepared.value, key=prepared.key, on_delivery=delivered)
        self.summary.sent += 1
        self.summary.offloaded += int(prepared.offloaded)

    def publish(self, turn: ConversationTurn, on_delivery: DeliveryCallback | None = None) -> None:
        """Prepare and queue one turn; its delivery report arrives through `on_delivery` and the summary."""
        self.send(self.prepare(turn), on_delivery=on_delivery)

    def poll(self, timeout: float = 0.0) -> None:
        """Serve delivery callbacks."""
        self.producer.poll(timeout)

    def _sync_summary(self) -> PublishSummary:
        summary = self.summary
        summary.delivered = self.producer.delivered
        summary.failed = self.producer.failed
        summary.failures = [f"{r.key!r}: {r.error}" for r in self.producer.errors[:100]]
        return summary

    def flush(self, timeout: float | None = None) -> PublishSummary:
        """Wait for every delivery report (at least as long as the producer retries); the summary then counts
        delivered and failed turns, and names those never confirmed."""
        try:
            self.producer.flush(timeout if timeout is not None else self.retry_window_s + FLUSH_MARGIN_S)
        finally:
            self._sync_summary()
            self.summary.undelivered.extend(self._pending.values())
            self._pending.clear()
        return self.summary

    def close(self, timeout: float | None = None) -> PublishSummary:
        """Flush everything and release the producer; the summary then accounts for every turn sent."""
        try:
            return self.flush(timeout)
        finally:
            with contextlib.suppress(DeliveryError):  # what is still unconfirmed is in `summary.undelivered`
                self.producer.close(1.0)

    def __enter__(self) -> TurnPublisher:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()


__all__ = ["ClaimCheck", "PreparedTurn", "PublishSummary", "TurnPublisher"]
