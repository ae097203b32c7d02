"""A reliable producer for every memlane component: idempotent, acks=all, delivery reports surfaced.

`ReliableProducer.send` never drops a message: a full local queue is drained by polling and retried,
and every delivery outcome reaches a callback and the `delivered` / `failed` counters. `flush` returns
only when all sends are acknowledged (or raises `DeliveryError` naming what is still outstanding),
which is what lets consumers commit offsets after the produce they cover has succeeded.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from confluent_kafka import KafkaError, KafkaException, Message, Producer

from schemas.errors import DeliveryError
from streams.kafka.connection import KafkaConnection

AUTH_GRACE_S = 15.0
"""How long `flush` waits on credentials the broker refuses before it gives up with an error."""

RELIABLE_PRODUCER_CONF: dict[str, Any] = {
    "enable.idempotence": True,
    "acks": "all",
    "max.in.flight.requests.per.connection": 5,
    "linger.ms": 5,
    "batch.num.messages": 10000,
    "compression.type": "zstd",
    "queue.buffering.max.messages": 200000,
}


@dataclass(frozen=True)
class DeliveryReport:
    """The broker's answer for one message."""

    topic: str
    key: bytes | None
    partition: int
    offset: int
    error: str | None

    @property
    def ok(self) -> bool:
        return self.error is None


DeliveryCallback = Callable[[DeliveryReport], None]


def _report(error: KafkaError | None, message: Message) -> DeliveryReport:
    key = message.key()
    partition = message.partition()
    offset = message.offset()
    return DeliveryReport(
        topic=message.topic() or "",
        key=key if isinstance(key, bytes) else None,
        partition=partition if partition is not None else -1,
        offset=offset if offset is not None else -1,
        error=None if error is None else f"{error.name()}: {error.str()}",
    )


UNASSIGNED = -1
"""librdkafka's 'no partition chosen': the partitioner picks one from the key."""


class ReliableProducer:
    """confluent-kafka producer configured for at-least-once, idempotent delivery."""

    def __init__(self, kafka: KafkaConnection, **overrides: Any) -> None:
        conf = {
            **RELIABLE_PRODUCER_CONF,
            "message.max.bytes": kafka.max_message_bytes,
            "message.timeout.ms": int(kafka.delivery_timeout_s * 1000),
            "error_cb": self._on_client_error,
            **overrides,
        }
        self._auth_error: tuple[float, str] | None = None
        self._producer = Producer(kafka.as_librdkafka_dict(**conf))
        self.value_limit = kafka.value_limit
        """The largest value this producer's callers may send (see `KafkaConnection.value_limit`)."""
        self.delivered = 0
        self.failed = 0
        self.errors: list[DeliveryReport] = []
        self._closed = False

    def _on_client_error(self, error: KafkaError) -> None:
        """librdkafka's client-level errors: an authentication failure is remembered, so flush can stop early."""
        if error.code() == KafkaError._AUTHENTICATION and self._auth_error is None:
            self._auth_error = (time.monotonic(), error.str())

    def _on_delivery(self, error: KafkaError | None, message: Message) -> None:
        """Default delivery callback: counts, and keeps the first failures."""
        if error is None:
            self.delivered += 1
            return
        self.failed += 1
        if len(self.errors) < 1000:
            self.errors.append(_report(error, message))

    def _with_callback(self, callback: DeliveryCallback) -> Callable[[KafkaError | None, Message], None]:
        def on_delivery(error: KafkaError | None, message: Message) -> None:
            self._on_delivery(error, message)
            callback(_report(error, message))

        return on_delivery

    def send(
        self,
        topic: str,
        value: bytes,
        *,
        key: bytes | str | None = None,
        headers: Sequence[tuple[str, bytes]] | None = None,
        on_delivery: DeliveryCallback | None = None,
        timestamp_ms: int = 0,
        partition: int | None = None,
    ) -> None:
        """Queue one message (to `partition`, else the key's); blocks (polling) while the local queue is full."""
        callback = self._on_delivery if on_delivery is None else self._with_callback(on_delivery)
        while True:
            try:
                self._producer.produce(
                    topic,
                    value=value,
                    key=key,
                    headers=list(headers) if headers else None,
                    on_delivery=callback,
                    timestamp=timestamp_ms,
                    partition=UNASSIGNED if partition is None else partition,
                )
                break
            except BufferError:
                self._producer.poll(0.05)
            except KafkaException as exc:
                raise DeliveryError(f"cannot produce to {topic}: {exc.args[0]}") from exc
        self._producer.poll(0)

    def poll(self, timeout: float = 0.0) -> int:
        return int(self._producer.poll(timeout))

    def pending(self) -> int:
        return len(self._producer)

    def flush(self, timeout: float = 60.0) -> None:
        """Wait for every queued message's delivery report; raise if some are still outstanding."""
        if self._closed:
            return
        deadline = time.monotonic() + timeout
        remaining = self._producer.flush(min(timeout, 1.0))
        while remaining and time.monotonic() < deadline:
            if self._auth_error is not None and time.monotonic() - self._auth_error[0] >= AUTH_GRACE_S:
                raise DeliveryError(
                    f"{remaining} message(s) not sent: the broker refuses the credentials ({self._auth_error[1]}); "
                    "check MEMLANE_SASL_USERNAME / MEMLANE_SASL_PASSWORD"
                )
            remaining = self._producer.flush(min(1.0, max(0.0, deadline - time.monotonic())))
        if remaining:
            raise DeliveryError(f"{remaining} message(s) not acknowledged within {timeout:.0f}s", retriable=True)

    def raise_on_failures(self) -> None:
        """Raise `DeliveryError` if any delivery failed since the last call."""
        if self.errors:
            first = self.errors[0]
            count = self.failed
            self.errors.clear()
            raise DeliveryError(
                f"{count} message(s) failed delivery; first: {first.topic}: {first.error}", key=first.key
            )

    def close(self, timeout: float = 30.0) -> None:
        """Flush, then release the client (its connections and threads). Closing twice is a no-op."""
        if self._closed:
            return
        try:
            self.flush(timeout)
        except DeliveryError:
            # what flush could not deliver is reported failed now: closing would otherwise wait out
            # message.timeout.ms (e.g. two minutes after the broker refused the credentials)
            self._producer.purge()
            self._producer.flush(0)
            raise
        finally:
            self._closed = True
            close = getattr(self._producer, "close", None)
            if callable(close):
                close()

    @property
    def raw(self) -> Producer:
        """The underlying confluent-kafka producer (for transactions or metrics)."""
        return self._producer


__all__ = ["RELIABLE_PRODUCER_CONF", "DeliveryCallback", "DeliveryReport", "ReliableProducer"]
