"""The consumer loop every confluent-kafka worker runs, with the one checkpoint that fixes the commit order.

One batch at a time:

1. consume up to `batch_size` messages (or whatever arrived within `batch_timeout`);
2. decode each with the event codec and the worker's own checks; what cannot be decoded or is invalid is
   quarantined (raw bytes + `memlane.error.*` headers, queued on the loop's producer);
3. `sink.add(record)` for every good record (`sinks.base.Sink`);
4. `checkpoint(messages)`: the sink is flushed, then the producer (every queued output acknowledged,
   a failed delivery raises), then the offsets of `messages` are committed, synchronously.

Every path commits through `checkpoint`: a whole batch, or the prefix taken before the sink pushed back.
A `SinkBackpressureError` from `add` checkpoints the records added before it, rewinds the rest and waits
`retry_after` seconds; from `flush`, the whole batch waits. Any other failure commits nothing: the sink
discards what it buffered, the partitions are sought back to the batch's first offsets, and after a
backoff the batch is read again (at-least-once; effects are idempotent downstream). Offsets are committed
per partition as last offset + 1.
"""

from __future__ import annotations

import signal
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Generic, TypeVar

import structlog
from confluent_kafka import Consumer, KafkaError, KafkaException, Message, TopicPartition

from schemas.errors import BrokerError, CodecError, SinkBackpressureError, ValidationError
from schemas.events import EventModel
from sinks.base import Sink
from streams.health import HEALTH
from streams.kafka.decoding import RecordDecoder, raw_record
from streams.kafka.parking import Overflow, quarantine
from streams.kafka.producer import ReliableProducer
from streams.metrics import BATCH_FAILURES, BATCH_SECONDS, BATCHES_COMMITTED, MESSAGES_CONSUMED

log = structlog.get_logger(__name__)

AUTH_GRACE_S = 15.0
"""How long a worker keeps trying credentials the broker refuses before it stops with an error."""

E = TypeVar("E", bound=EventModel)


@dataclass
class LoopStats:
    batches: int = 0
    messages: int = 0
    failures: int = 0
    idle_polls: int = 0
    parked_waits: int = 0
    quarantined: int = 0


class ConsumerLoop(Generic[E]):
    """Consume -> decode -> sink.add -> checkpoint, until stopped."""

    def __init__(
        self,
        *,
        component: str,
        consumer: Consumer,
        topics: Sequence[str],
        decoder: RecordDecoder[E],
        sink: Sink[E],
        producer: ReliableProducer,
        quarantine_topic: str,
        overflow: Overflow | None = None,
        batch_size: int = 100,
        batch_timeout: float = 0.5,
        retry_backoff_s: float = 1.0,
    ) -> None:
        self.component = component
        self.consumer = consumer
        self.topics = list(topics)
        self.decoder = decoder
        self.sink = sink
        self.producer = producer
        self.quarantine_topic = quarantine_topic
        self.overflow = overflow
        self.batch_size = batch_size
        self.batch_timeout = batch_timeout
        self.retry_backoff_s = retry_backoff_s
        self.stop_event = threading.Event()
        self.assigned = threading.Event()
        self.stats = LoopStats()
        self._releases: list[Callable[[], None]] = []
        self._auth_failing_since: float | None = None
        self._auth_error: str | None = None

    # --- lifecycle ------------------------------------------------------------------------------
    def _on_assign(self, _consumer: Consumer, partitions: list[TopicPartition]) -> None:
        self.assigned.set()
        hook = getattr(self.sink, "on_assign", None)  # `Sink.on_assign`; duck-typed sinks may lack it
        if hook is not None:
            hook([p.partition for p in partitions])
        HEALTH.ready(self.component)
        log.info("partitions.assigned", component=self.component, partitions=[p.partition for p in partitions])

    def on_client_error(self, error: KafkaError) -> None:
        """The consumer's `error_cb`: librdkafka reports a refused login only here, never through `consume`."""
        if error.code() == KafkaError._AUTHENTICATION:
            self._auth_error = error.str()

    def _on_revoke(self, _consumer: Consumer, partitions: list[TopicPartition]) -> None:
        log.info("partitions.revoked", component=self.component, partitions=[p.partition for p in partitions])

    def install_signal_handlers(self) -> None:
        """SIGTERM / SIGINT finish the current batch, commit, and stop (main thread only: where signals land)."""
        if threading.current_thread() is not threading.main_thread():
            return
        for sig in (signal.SIGTERM, signal.SIGINT):
            signal.signal(sig, lambda *_: self.stop_event.set())

    def on_close(self, release: Callable[[], None]) -> None:
        """Release `release`'s resource when the loop closes (stores, clients the worker opened)."""
        self._releases.append(release)

    def serve(self, *, idle_exit_s: float | None = None) -> LoopStats:
        """What a worker process does: handle signals and run until stopped (resources released on close)."""
        self.install_signal_handlers()
        return self.run(idle_exit_s=idle_exit_s)

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

    def close(self) -> None:
        """Flush the producer, leave the group, then close the sink and every registered resource."""
        try:
            self.producer.close(30)
        finally:
            self.consumer.close()
            releases, self._releases = [self.sink.close, *self._releases], []
            for release in releases:
                release()

    # --- one batch -------------------------------------------------------------------------------
    def run_once(self) -> int:
        """Process one batch; returns the number of messages whose offsets were committed (0 when idle)."""
        HEALTH.beat()
        batch = self._consume()
        if not batch:
            self.stats.idle_polls += 1
            self.producer.poll(0)
            return 0
        began = time.perf_counter()
        taken = 0
        try:
            for message in batch:
                try:
                    self._take(message)
                except SinkBackpressureError as pushback:
                    return self._wait_out(batch, taken, pushback)
                taken += 1
            try:
                self.checkpoint(batch)
            except SinkBackpressureError as pushback:  # the sink could not write the batch: all of it waits
                return self._wait_out(batch, 0, pushback)
        except Exception as exc:
            self._failed(batch, exc)
            return 0
        self.stats.batches += 1
        self.stats.messages += len(batch)
        MESSAGES_CONSUMED.labels(component=self.component).inc(len(batch))
        BATCHES_COMMITTED.labels(component=self.component).inc()
        BATCH_SECONDS.labels(component=self.component).observe(time.perf_counter() - began)
        return len(batch)

    def _take(self, message: Message) -> None:
        """Decode one message and add it to the sink; quarantine it when it cannot be decoded or is invalid."""
        try:
            event = self.decoder.decode(message)
        except (CodecError, ValidationError) as exc:
            kind = "decode" if isinstance(exc, CodecError) else "validate"
            quarantine(
                self.producer,
                self.quarantine_topic,
                raw_record(message),
                stage=f"{self.decoder.stage}.{kind}",
                error=exc,
            )
            self.stats.quarantined += 1
            return
        self.sink.add(raw_record(message, event))

    def checkpoint(self, messages: Sequence[Message]) -> None:
        """The commit order, the one place it is written: sink flush, producer flush, delivery check, commit."""
        self.sink.flush()
        self.producer.flush()
        self.producer.raise_on_failures()
        if messages:
            self.consumer.commit(offsets=self._offsets(messages), asynchronous=False)

    def _wait_out(self, batch: Sequence[Message], taken: int, pushback: SinkBackpressureError) -> int:
        """Checkpoint what the sink took, rewind the rest, and wait before reading it again."""
        done, rest = batch[:taken], batch[taken:]
        if done:
            self.checkpoint(done)
            self.stats.messages += len(done)
            MESSAGES_CONSUMED.labels(component=self.component).inc(len(done))
        else:
            self.sink.discard()
        self._rewind(rest)
        self.stats.parked_waits += 1
        log.info(
            "batch.parked",
            component=self.component,
            handled=len(done),
            waiting=len(rest),
            retry_after_s=pushback.retry_after,
            reason=str(pushback),
        )
        self.stop_event.wait(pushback.retry_after)
        return len(done)

    def _failed(self, batch: Sequence[Message], exc: Exception) -> None:
        self.stats.failures += 1
        BATCH_FAILURES.labels(component=self.component).inc()
        log.error(
            "batch.failed",
            component=self.component,
            messages=len(batch),
            error_class=type(exc).__name__,
            error=str(exc)[:500],
        )
        self.sink.discard()
        self._rewind(batch)
        self.stop_event.wait(self.retry_backoff_s)

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
                if error.code() == KafkaError._AUTHENTICATION:
                    self._authentication_failed(str(error))
                log.warning("consumer.error", component=self.component, error=str(error))
        if batch:
            self._auth_failing_since = self._auth_error = None
        elif self._auth_error is not None:
            self._authentication_failed(self._auth_error)
        return batch

    def _authentication_failed(self, reason: str) -> None:
        """Credentials the broker refuses do not fix themselves: stop once they failed for `AUTH_GRACE_S`."""
        now = time.monotonic()
        if self._auth_failing_since is None:
            self._auth_failing_since = now
        if now - self._auth_failing_since >= AUTH_GRACE_S:
            raise BrokerError(
                f"the broker refuses this worker's credentials ({reason}); check MEMLANE_SASL_USERNAME / "
                "MEMLANE_SASL_PASSWORD and MEMLANE_SECURITY_PROTOCOL"
            )

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


__all__ = ["ConsumerLoop", "LoopStats"]
