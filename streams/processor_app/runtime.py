"""The Faust app of the processors: turns (and ticks) in, requests, skip records and quarantine out.

One agent reads the turns topic together with the app's tick topic (co-partitioned: same partition count,
so Faust assigns partition p of both, and of the state changelog, to the same worker) in batches of
`batch_size`, taken with `noack_take` so that nothing is acked before the batch is done. Per batch, in this
order, which is what makes a kill -9 at any point safe:

0. admit only contiguous offsets of each turns partition (`offset_guard`: Faust's stream can skip events
   around recovery and a rebalance and ack them as it skips them; the guard seeks back instead, and the
   consumer counts only the acks the agent released);
1. plan the batch with the pure stages (`planner.BatchPlanner`) from the states in the table;
2. send every output and await every acknowledgement (`Topic.send(force=True)` then the futures);
3. write the new states into the `conversation-state` table (RocksDB, changelog topic) and wait until the
   broker acknowledged every changelog record of them (`state_table.ConfirmedTable`: Faust's own flush
   before a commit can return with changelog records still buffered);
4. ack the events; Faust commits acked offsets in the background.

A crash before 3 replays the batch from the old states into the same outputs (ids and contents derive from
the turns; timestamps are event times); a crash after 3 replays turns the states already hold, which the
planner recognises by offset and skips. If a batch cannot be delivered after `delivery_attempts`, the
worker exits at once, un-acked (continuing with later events would apply them to states missing the
failed ones).

Wall-clock work is done by *ticks*: a timer sends one message per assigned partition to the tick topic
every `tick_interval_s`, and the agent handles it like a turn of that partition. So every table write
happens inside stream processing, on the partition that owns the key, and a rebalance waits for it like
for any event. Faust's `Stream.take()` family runs its buffer in another task, so the table no longer
sees the current event there (faust-streaming issue #497: "Cannot modify table key from outside of
stream iteration"); `_bound()` sets it explicitly around each table access.
"""

from __future__ import annotations

import asyncio
import os
import sys
import time
import weakref
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from signal import SIGTERM
from typing import Any, cast

import faust
import structlog
from faust.streams import Stream, _current_event
from faust.types import TP, EventT, StreamT

from processors.pipeline import TurnProcessor
from schemas.errors import DeliveryError
from streams.health import HEALTH
from streams.metrics import OFFSET_GAPS, PROCESSOR_ISOLATED, TOKENS_SEEN, TURNS_IN
from streams.processor_app.config import WorkerConfig, faust_options, ticks_topic_name
from streams.processor_app.envelope import StoredState, pending_window
from streams.processor_app.offset_guard import (
    Admission,
    OffsetGuard,
    install_ack_filter,
    present_offsets,
    resume_positions,
)
from streams.processor_app.outputs import Output, OutputRole, count_delivered, topic_for
from streams.processor_app.planner import BatchPlanner, Item, Tick, TurnMessage
from streams.processor_app.schedule import PendingIndex, Silence, deadline
from streams.processor_app.state_table import add_confirmed_table

log = structlog.get_logger(__name__)

TABLE_NAME = "conversation-state"
EXIT_BATCH_FAILED = 70


@contextmanager
def _bound(event: EventT[bytes]) -> Iterator[None]:
    """Makes `event` Faust's current event, so table reads and writes go to its partition."""
    token = _current_event.set(weakref.ref(event))
    try:
        yield
    finally:
        _current_event.reset(token)


def _headers(raw: Any) -> tuple[tuple[str, bytes | str | None], ...]:
    if not raw:
        return ()
    pairs = raw.items() if isinstance(raw, dict) else raw
    return tuple((str(key), value) for key, value in pairs)


class ProcessorRuntime:
    """The Faust app, its topics and table, and the agent and timer wiring the pure stages to them."""

    def __init__(self, config: WorkerConfig, *, partitions: int, idle_exit_s: float | None = None) -> None:
        app_settings, topics = config.app, config.ctx.topics
        self.config = config
        self.kafka = config.ctx.kafka
        self.stages = config.stages
        self.app_settings = app_settings
        self.idle_exit_s = idle_exit_s
        self.drain_flush_s = app_settings.drain_flush_s or (idle_exit_s / 2.0 if idle_exit_s else None)
        self.turns_topic = topics.turns
        self.ticks_topic = ticks_topic_name(app_settings)
        processor = TurnProcessor(
            config.stages,
            embedder=config.embedder,
            memories=config.memories,
            source_topic=self.turns_topic,
            offload=config.offload,
        )
        self.planner = BatchPlanner(
            processor,
            config.ctx.codec,
            topics,
            max_future_s=config.stages.max_future_event_s,
            value_limit=config.ctx.kafka.value_limit,
            overflow=config.overflow,
        )
        self.index = PendingIndex()
        self.guard = OffsetGuard(self.turns_topic)
        self.last_turn_at: float | None = None
        self.stopping = False

        app = faust.App(app_settings.app_id, **faust_options(config, partitions))
        self.app = app
        raw: dict[str, Any] = {
            "key_type": bytes,
            "value_type": bytes,
            "key_serializer": "raw",
            "value_serializer": "raw",
        }
        self.source = app.topic(self.turns_topic, self.ticks_topic, partitions=partitions, allow_empty=True, **raw)
        self.ticks = app.topic(self.ticks_topic, partitions=partitions, **raw)
        self.outputs = {role: app.topic(topic_for(role, topics), **raw) for role in OutputRole}
        self.table = add_confirmed_table(
            app,
            TABLE_NAME,
            default=None,
            key_type=bytes,
            value_type=bytes,
            partitions=partitions,
            help="ConversationState per tenant + conversation id, with the offset of the last turn applied",
        )
        app.agent(self.source, name="processors", concurrency=1)(self._agent)
        app.timer(app_settings.tick_interval_s, name="processors-ticks")(self._on_timer)
        app.on_partitions_revoked.connect(self._on_revoked)
        app.on_partitions_assigned.connect(self._on_assigned)

    # --- agent ------------------------------------------------------------------------------------
    async def _agent(self, stream: StreamT[bytes]) -> None:
        install_ack_filter(self.app.consumer, self.guard)
        batches = cast(Stream[bytes], stream).noack_take(self.app_settings.batch_size, self.app_settings.batch_within_s)
        async for values in batches:
            events = cast(Sequence[EventT[bytes]], values)  # noack_take yields the events themselves
            admitted: list[EventT[bytes]] = []
            seen: list[EventT[bytes]] = []
            try:
                admitted, seen = await self._admit(events)
                if admitted:
                    await self._handle(admitted)
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                self._fail(exc)
            for event in (*admitted, *seen):
                self.guard.release(event.message.partition, event.message.offset)
                await stream.ack(event)

    async def _admit(self, events: Sequence[EventT[bytes]]) -> tuple[list[EventT[bytes]], list[EventT[bytes]]]:
        """Splits a batch into events to process and events handled before; drops (un-acked) those past a gap."""
        unknown = {
            e.message.partition
            for e in events
            if e.message.topic == self.turns_topic and not self.guard.tracks(e.message.partition)
        }
        if unknown:
            group = self.app_settings.app_id
            positions = await asyncio.to_thread(resume_positions, self.kafka, group, self.turns_topic, unknown)
            self.guard.start(positions)
            log.info("processors.resume_positions", positions=positions)
        admitted: list[EventT[bytes]] = []
        seen: list[EventT[bytes]] = []
        first_dropped: dict[int, int] = {}
        for event in events:
            message = event.message
            if message.topic != self.turns_topic:
                admitted.append(event)  # ticks: wall-clock triggers, any of them will do
                continue
            verdict = self.guard.admit(message.partition, message.offset)
            if verdict is Admission.NEXT:
                admitted.append(event)
            elif verdict is Admission.SEEN:
                seen.append(event)
            else:
                first_dropped.setdefault(message.partition, message.offset)
        for partition, missing in self.guard.seeks_due().items():
            await self._seek_back(partition, missing, first_dropped.get(partition, missing))
        return admitted, seen

    async def _seek_back(self, partition: int, missing: int, seen_after: int) -> None:
        """Offsets `missing`..`seen_after`-1 never reached the agent: read them again, or step over non-records."""
        present = await asyncio.to_thread(present_offsets, self.kafka, self.turns_topic, partition, missing, seen_after)
        target = missing
        if missing not in present:
            target = self.guard.mark_absent(partition, set(range(missing, seen_after)) - present)
            log.info("processors.offsets_without_records", partition=partition, first=missing, next=target)
        if target < seen_after:  # records the stream skipped
            OFFSET_GAPS.inc()
            log.warning("processors.offset_gap", partition=partition, missing_from=target, seen_after=seen_after)
        await self.app.consumer.seek(TP(self.turns_topic, partition), target)

    async def _handle(self, events: Sequence[EventT[bytes]]) -> None:
        items = [self._item(event) for event in events]
        anchors = {event.message.partition: event for event in events}
        self._fill_index({item.partition for item in items if isinstance(item, Tick)})
        plan = self.planner.plan(
            items,
            read=lambda key, partition: self._read(key, anchors[partition]),
            due=lambda partition: self.index.due(partition, self.drain_flush_s),
        )
        await self._deliver(plan.outputs)
        settings = self.stages
        for key, stored in plan.states.items():
            with _bound(anchors[stored.partition]):
                self.table[key.encode("utf-8")] = stored.to_bytes()
            self.index.update(stored.partition, key, stored.state, settings, seen=key in plan.seen)
        await self.table.confirm_changelog()
        count_delivered(plan.outputs)
        TURNS_IN.inc(plan.turns_in)
        PROCESSOR_ISOLATED.inc(plan.isolated)
        TOKENS_SEEN.inc(plan.tokens_in)
        if plan.turns_in or plan.replayed or self.last_turn_at is None:
            self.last_turn_at = time.monotonic()
        if plan.replayed:
            log.info("processors.replayed", turns=plan.replayed)

    def _item(self, event: EventT[bytes]) -> Item:
        message = event.message
        if message.topic == self.ticks_topic:
            return Tick(message.partition)
        value = message.value if isinstance(message.value, bytes) else b""
        key = message.key if isinstance(message.key, bytes) else None
        return TurnMessage(message.topic, message.partition, message.offset, key, value, _headers(message.headers))

    def _read(self, key: str, anchor: EventT[bytes]) -> StoredState | None:
        with _bound(anchor):
            raw = self.table.get(key.encode("utf-8"))
        return StoredState.from_bytes(raw) if isinstance(raw, bytes) else None

    def _fill_index(self, partitions: set[int]) -> None:
        """Reads the pending windows of partitions not indexed since they were assigned (one table scan)."""
        wanted = {p for p in partitions if not self.index.filled(p)}
        if not wanted:
            return
        found: dict[int, dict[str, Silence]] = {p: {} for p in wanted}
        now, settings = self.index.now(), self.stages
        for key, raw in self.table.items():
            window = pending_window(raw) if isinstance(raw, bytes) else None
            if window is not None and window.partition in wanted and isinstance(key, bytes):
                at = deadline(window.last_activity, window.window_opened_at, settings)
                found[window.partition][key.decode("utf-8")] = Silence(at, window.last_activity, now)
        for partition, windows in found.items():
            self.index.fill(partition, windows)
        log.info("processors.index_filled", partitions=sorted(wanted), pending=sum(len(w) for w in found.values()))

    async def _deliver(self, outputs: Sequence[Output]) -> None:
        """Sends the outputs and waits until the broker acknowledged every one of them."""
        attempts = self.app_settings.delivery_attempts
        for attempt in range(1, attempts + 1):
            try:
                pending = [
                    await self.outputs[o.role].send(key=o.key, value=o.value, headers=list(o.headers), force=True)
                    for o in outputs
                ]
                await asyncio.gather(*pending)
                return
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                if attempt == attempts:
                    raise DeliveryError(f"{len(outputs)} output(s) not acknowledged: {exc!r}") from exc
                log.warning("processors.delivery_retry", attempt=attempt, error=repr(exc)[:300])
                await asyncio.sleep(self.app_settings.delivery_backoff_s * attempt)

    def _fail(self, exc: Exception) -> None:
        """Exits now, with the batch un-acked: a restart replays it (the same guarantees as a kill -9)."""
        log.critical("processors.batch_failed", error_class=type(exc).__name__, error=str(exc)[:1000])
        sys.stderr.flush()
        os._exit(EXIT_BATCH_FAILED)

    # --- ticks and lifecycle --------------------------------------------------------------------
    def assigned(self) -> set[int]:
        """Partitions of the turns topic this worker owns now."""
        try:
            assignment = self.app.consumer.assignment()
        except Exception:  # the consumer is not started yet, or is rebalancing
            return set()
        return {tp.partition for tp in assignment if tp.topic == self.turns_topic}

    async def _on_timer(self) -> None:
        HEALTH.beat()
        for partition in sorted(self.assigned()):
            await self.ticks.send(key=b"tick", value=b"", partition=partition, force=True)
        self._maybe_exit()

    def _maybe_exit(self) -> None:
        """With `idle_exit_s`: stop once no turn came for that long and no window is pending here."""
        if self.idle_exit_s is None or self.last_turn_at is None or self.stopping:
            return
        if time.monotonic() - self.last_turn_at < self.idle_exit_s:
            return
        owned = self.assigned()
        if not all(self.index.filled(p) for p in owned) or self.index.pending(owned):
            return
        self.stopping = True
        log.info("processors.idle_exit", idle_s=self.idle_exit_s, partitions=sorted(owned))
        os.kill(os.getpid(), SIGTERM)  # the worker's own graceful shutdown

    async def _on_revoked(self, *args: Any, **kwargs: Any) -> None:
        revoked = cast(set[TP], args[1])  # called as (sender, revoked, signal=...)
        partitions = {tp.partition for tp in revoked if tp.topic == self.turns_topic}
        self.index.forget(partitions)
        self.guard.forget(partitions)

    async def _on_assigned(self, *args: Any, **kwargs: Any) -> None:
        assigned = cast(set[TP], args[1])  # called as (sender, assigned, signal=...)
        owned = sorted(tp.partition for tp in assigned if tp.topic == self.turns_topic)
        log.info("processors.assigned", app_id=self.app_settings.app_id, pid=os.getpid(), partitions=owned)
        HEALTH.ready("processors")


__all__ = ["EXIT_BATCH_FAILED", "TABLE_NAME", "ProcessorRuntime"]
