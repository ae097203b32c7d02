"""The consumer loop every worker runs, with the commit order fixed and written down here.

One batch at a time:

1. consume up to `batch_size` messages (or whatever arrived within `batch_timeout`);
2. `handler.process(batch)` does the work and queues every output (results, DLQ, quarantine) on the
   shared reliable producer, or writes to its sink;
3. `handler.flush()` makes sink writes durable (checkpoint);
4. the producer is flushed and any failed delivery raises;
5. only then are the batch's offsets committed, synchronously.

If any step raises, nothing is committed: the loop seeks the batch's partitions back to their first
offsets, backs off, and processes them again (at-least-once; effects are idempotent downstream).
Offsets are committed per partition as last offset + 1.
"""

from __future__ import annotations

import signal
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Protocol, TypeVar

import structlog
from confluent_kafka import Consumer, KafkaError, KafkaException, Message, TopicPartition

from streams.kafka.consumer import make_consumer
from streams.kafka.producer import ReliableProducer
from streams.metrics import BATCH_FAILURES, BATCH_SECONDS, BATCHES_COMMITTED, MESSAGES_CONSUMED
from streams.settings import Settings

log = structlog.get_logger(__name__)


class PartialBatch(Exception):  # noqa: N818 - a control signal, not an error
    """Raised by a handler that handled only the first `handled` messages of a batch (in batch order).

    The loop commits what was handled, rewinds the rest, and waits `retry_after` seconds before
    consuming again: how a worker parks on an unavailable downstream without redoing finished work.
    """

    def __init__(self, handled: int, retry_after: float, reason: str) -> None:
        super().__init__(reason)
        self.handled = handled
        self.retry_after = retry_after


class BatchHandler(Protocol):
    """What a worker plugs into the loop."""

    def process(self, batch: Sequence[Message]) -> None:
        """Handle every message of the batch; queue outputs on the loop's producer. Raise to retry the batch."""

    def flush(self) -> None:
        """Make sink writes durable before offsets are committed (no-op for pure producers)."""


@dataclass
class LoopStats:
    batches: int = 0
    messages: int = 0
    failures: int = 0
    idle_polls: int = 0
    parked_waits: int = 0


class ConsumerLoop:
    """Consume -> process -> flush -> commit, until stopped."""

    def __init__(
        self,
        settings: Settings,
        *,
        component: str,
        group_id: str,
        topics: Sequence[str],
        handler: BatchHandler,
        producer: ReliableProducer,
        batch_size: int = 100,
        batch_timeout: float = 0.5,
        retry_backoff_s: float = 1.0,
        consumer: Consumer | None = None,
    ) -> None:
        self.component = component
        self.topics = list(topics)
        self.handler = handler
        self.producer = producer
        self.batch_size = batch_size
        self.batch_timeout = batch_timeout
        self.retry_backoff_s = retry_backoff_s
        self.consumer = consumer or make_consumer(settings, group_id)
        self.stop_event = threading.Event()
        self.assigned = threading.Event()
        self.stats = LoopStats()
        self._releases: list[Callable[[], None]] = []

    def _on_assign(self, _consumer: Consumer, partitions: list[TopicPartition]) -> None:
        self.assigned.set()
        log.info("partitions.assigned", component=self.component, partitions=[p.partition for p in partitions])

    def _on_revoke(self, _consumer: Consumer, partitions: list[TopicPartition]) -> None:
        log.info("partitions.revoked", component=self.component, partitions=[p.partition for p in partitions])

    def install_signal_handlers(self) -> None:
        """SIGTERM / SIGINT finish the current batch, commit, and stop (main thread only: where signals land)."""
        if threading.current_thread() is not threading.main_thread():
            return
        for sig in (signal.SIGTERM, signal.SIGINT):
            signal.signal(sig, lambda *_: self.stop_event.set())

    def serve(self, *, idle_exit_s: float | None = None, on_close: Callable[[], None] | None = None) -> LoopStats:
        """What a worker process does: handle signals, run until stopped, then release `on_close`'s resources."""
        self.install_signal_handlers()
        try:
            return self.run(idle_exit_s=idle_exit_s)
        finally:
            if on_close is not None:
                on_close()

    def _consume(self) -> list[Message]:
        messages = self.consumer.consume(num_messages=self.batch_size, timeout=self.batch_timeout)
        batch: list[Message] = []
        for message in messages:
            error = message.error()
            if error is None:
                batch.append(message)
            elif error.code() != KafkaError._PARTITION_EOF:
                if error.fatal():
                    raise KafkaException(error)
                log.warning("consumer.error", component=self.component, error=str(error))
        return batch

    @staticmethod
    def _offsets(batch: Sequence[Message]) -> list[TopicPartition]:
        last: dict[tuple[str, int], int] = {}
        for message in batch:
            key = (message.topic() or "", message.partition() or 0)
            last[key] = max(last.get(key, -1), message.offset() or 0)
        return [TopicPartition(topic, partition, offset + 1) for (topic, partition), offset in last.items()]

    def _rewind(self, batch: Sequence[Message]) -> None:
        first: dict[tuple[str, int], int] = {}
        for message in batch:
            key = (message.topic() or "", message.partition() or 0)
            first[key] = min(first.get(key, message.offset() or 0), message.offset() or 0)
        for (topic, partition), offset in first.items():
            try:
                self.consumer.seek(TopicPartition(topic, partition, offset))
            except KafkaException as exc:  # partition revoked meanwhile: its new owner starts at the commit
                log.info("consumer.rewind_skipped", topic=topic, partition=partition, reason=str(exc))

    def _commit_partial(self, batch: Sequence[Message], partial: PartialBatch) -> int:
        """Commit the handled prefix, rewind the rest, and wait before trying it again."""
        done, rest = batch[: partial.handled], batch[partial.handled :]
        self.handler.flush()
        self.producer.flush()
        self.producer.raise_on_failures()
        if done:
            self.consumer.commit(offsets=self._offsets(done), asynchronous=False)
            self.stats.messages += len(done)
            MESSAGES_CONSUMED.labels(component=self.component).inc(len(done))
        if rest:
            self._rewind(rest)
        self.stats.parked_waits += 1
        log.info(
            "batch.parked",
            component=self.component,
            handled=len(done),
            waiting=len(rest),
            retry_after_s=partial.retry_after,
            reason=str(partial),
        )
        self.stop_event.wait(partial.retry_after)
        return len(done)

    def run_once(self) -> int:
        """Process one batch; returns the number of messages handled (0 when idle)."""
        batch = self._consume()
        if not batch:
            self.stats.idle_polls += 1
            self.producer.poll(0)
            return 0
        began = time.perf_counter()
        try:
            try:
                self.handler.process(batch)
            except PartialBatch as partial:
                return self._commit_partial(batch, partial)
            self.handler.flush()
            self.producer.flush()
            self.producer.raise_on_failures()
            self.consumer.commit(offsets=self._offsets(batch), asynchronous=False)
        except Exception as exc:
            self.stats.failures += 1
            BATCH_FAILURES.labels(component=self.component).inc()
            log.error(
                "batch.failed",
                component=self.component,
                messages=len(batch),
                error_class=type(exc).__name__,
                error=str(exc)[:500],
            )
            self._rewind(batch)
            self.stop_event.wait(self.retry_backoff_s)
            return 0
        self.stats.batches += 1
        self.stats.messages += len(batch)
        MESSAGES_CONSUMED.labels(component=self.component).inc(len(batch))
        BATCHES_COMMITTED.labels(component=self.component).inc()
        BATCH_SECONDS.labels(component=self.component).observe(time.perf_counter() - began)
        return len(batch)

    def run(self, *, idle_exit_s: float | None = None, max_messages: int | None = None) -> LoopStats:
        """Loop until `stop_event` is set (or idle for `idle_exit_s` once partitions are assigned, or
        `max_messages` handled), then close."""
        self.consumer.subscribe(self.topics, on_assign=self._on_assign, on_revoke=self._on_revoke)
        log.info("worker.started", component=self.component, topics=self.topics)
        idle_since = time.monotonic()
        try:
            while not self.stop_event.is_set():
                handled = self.run_once()
                now = time.monotonic()
                if handled or not self.assigned.is_set():
                    idle_since = now
                elif idle_exit_s is not None and now - idle_since >= idle_exit_s:
                    break
                if max_messages is not None and self.stats.messages >= max_messages:
                    break
        finally:
            self.close()
        log.info("worker.stopped", component=self.component, batches=self.stats.batches, messages=self.stats.messages)
        return self.stats

    def on_close(self, release: Callable[[], None]) -> None:
        """Release `release`'s resource when the loop closes (stores the worker opened)."""
        self._releases.append(release)

    def close(self) -> None:
        try:
            self.producer.close(30)
        finally:
            self.consumer.close()
            for release in self._releases:
                release()
            self._releases.clear()


H = TypeVar("H", bound=BatchHandler)


def worker_loop(
    settings: Settings,
    *,
    component: str,
    group_id: str,
    topic: str,
    batch_size: int,
    handler_for: Callable[[ReliableProducer], H],
    max_poll_interval_ms: int | None = None,
) -> tuple[ConsumerLoop, H]:
    """A worker's loop: its own reliable producer, the handler built on it, and an at-least-once consumer."""
    producer = ReliableProducer(settings)
    handler = handler_for(producer)
    overrides = {} if max_poll_interval_ms is None else {"max.poll.interval.ms": max_poll_interval_ms}
    loop = ConsumerLoop(
        settings,
        component=component,
        group_id=group_id,
        topics=[topic],
        handler=handler,
        producer=producer,
        batch_size=batch_size,
        consumer=make_consumer(settings, group_id, **overrides),
    )
    return loop, handler


__all__ = ["BatchHandler", "ConsumerLoop", "LoopStats", "PartialBatch", "worker_loop"]
