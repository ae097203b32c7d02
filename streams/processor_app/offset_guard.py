"""Contiguous offsets for the processors' agent: no turn offset is committed unless the agent processed it.

faust-streaming 0.15 drops events in its stream layer and *acks them as it drops them*: an event fetched
while flow control is suspended (recovery, rebalance) or from an older consumer generation is skipped,
and `Stream.__aiter__` acks skipped events "so that lag does not grow" (faust-streaming issues #216,
#221, #527). With a manual-ack agent those offsets still reach the commit, and the turns are gone. The
restart test (`tests/integration/processors/test_processor_worker_restart.py`) showed it: after recovery
the agent received partition offsets 64..70 and then 277.., the 206 turns between never reached it and
their offsets were committed.

Two pieces close that hole:

* `OffsetGuard` knows, per partition of the turns topic, the offset the agent must see next (from the
  group's committed offset, or the log start, at the first event after an assignment). An event at that
  offset is admitted; one below it was already handled (released again, not processed); one above it
  means Faust skipped something: the event is dropped un-acked and the partition is sought back to the
  missing offset (again after `reseek_after_s` if the stale events keep coming). Not every offset is a
  record: transaction markers (a transactional producer upstream) and compacted records leave holes.
  Before seeking, the runtime reads the range from the broker (`present_offsets`); offsets in it that
  hold no record are marked absent and the guard steps over them.
* `install_ack_filter` makes the consumer ignore acks of turn messages the agent did not release, so
  Faust's own acks of skipped events cannot move the committed offset.
"""

from __future__ import annotations

import enum
import time
import uuid
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from confluent_kafka import TopicPartition

from schemas.errors import MemlaneError
from streams.kafka.connection import KafkaConnection
from streams.kafka.consumer import make_consumer


class Admission(enum.Enum):
    NEXT = "next"
    """The offset the partition was waiting for: process it."""
    SEEN = "seen"
    """Below the next offset: handled before (or committed by the group); release it without processing."""
    GAP = "gap"
    """Above the next offset: earlier offsets were skipped; drop it, un-acked, and seek back."""


@dataclass
class _Seek:
    offset: int
    at: float


class OffsetGuard:
    """Tracks the next offset per partition of one topic and which offsets the agent released."""

    def __init__(self, topic: str, *, reseek_after_s: float = 2.0, clock: Callable[[], float] = time.monotonic):
        self.topic = topic
        self.reseek_after_s = reseek_after_s
        self._clock = clock
        self._next: dict[int, int] = {}
        self._seeks: dict[int, _Seek] = {}
        self._due: dict[int, int] = {}
        self._released: set[tuple[int, int]] = set()
        self._absent: dict[int, set[int]] = {}
        self.gaps = 0

    def tracks(self, partition: int) -> bool:
        return partition in self._next

    def start(self, positions: Mapping[int, int]) -> None:
        """The offsets the group resumes from, for partitions not tracked yet."""
        for partition, offset in positions.items():
            self._next.setdefault(partition, offset)

    def forget(self, partitions: Iterable[int]) -> None:
        """Partitions revoked: their next offset is read again when they come back."""
        for partition in partitions:
            self._next.pop(partition, None)
            self._seeks.pop(partition, None)
            self._due.pop(partition, None)
            self._absent.pop(partition, None)

    def admit(self, partition: int, offset: int) -> Admission:
        expected = self._next[partition]
        if offset == expected:
            self._next[partition] = self._step_over_absent(partition, offset + 1)
            self._seeks.pop(partition, None)
            return Admission.NEXT
        if offset < expected:
            return Admission.SEEN
        seek = self._seeks.get(partition)
        now = self._clock()
        if seek is None or seek.offset != expected or now - seek.at >= self.reseek_after_s:
            self._seeks[partition] = _Seek(expected, now)
            self._due[partition] = expected
            self.gaps += 1
        return Admission.GAP

    def mark_absent(self, partition: int, offsets: Iterable[int]) -> int:
        """Offsets of `partition` that hold no record (markers, compaction); returns the new next offset."""
        absent = self._absent.setdefault(partition, set())
        absent.update(o for o in offsets if o >= self._next[partition])
        self._next[partition] = self._step_over_absent(partition, self._next[partition])
        self._seeks[partition] = _Seek(self._next[partition], self._clock())  # the caller seeks there now
        return self._next[partition]

    def _step_over_absent(self, partition: int, offset: int) -> int:
        absent = self._absent.get(partition)
        while absent and offset in absent:
            absent.discard(offset)
            offset += 1
        return offset

    def seeks_due(self) -> dict[int, int]:
        """Partitions to seek back, with the offset each is missing (each returned once per request)."""
        due, self._due = self._due, {}
        return due

    def next_offset(self, partition: int) -> int | None:
        return self._next.get(partition)

    def release(self, partition: int, offset: int) -> None:
        """The agent is done with this offset: the consumer may count its ack."""
        self._released.add((partition, offset))

    def take_release(self, partition: int, offset: int) -> bool:
        """Was this offset released by the agent? (Consumes the release.)"""
        try:
            self._released.remove((partition, offset))
        except KeyError:
            return False
        return True


def install_ack_filter(consumer: Any, guard: OffsetGuard) -> None:
    """Makes `consumer.ack` count a message of the guarded topic only when the agent released it."""
    if getattr(consumer, "_memlane_ack_filter", False):
        return
    original = consumer.ack

    def ack(message: Any) -> bool:
        if message.topic == guard.topic and not guard.take_release(message.partition, message.offset):
            return False
        return bool(original(message))

    consumer.ack = ack
    consumer._memlane_ack_filter = True


def present_offsets(
    kafka: KafkaConnection, topic: str, partition: int, start: int, end: int, *, timeout_s: float = 10.0
) -> set[int]:
    """Offsets in [start, end] of `topic`/`partition` that hold a record, read from the broker (blocking).

    Reads as Faust's consumer does (`read_uncommitted`), so the holes are exactly the offsets it can never
    deliver: transaction markers and compacted-away records.
    """
    consumer = make_consumer(
        kafka, f"memlane-offset-probe-{uuid.uuid4().hex[:12]}", **{"isolation.level": "read_uncommitted"}
    )
    present: set[int] = set()
    try:
        consumer.assign([TopicPartition(topic, partition, start)])
        deadline = time.monotonic() + timeout_s
        last = start - 1
        while last < end and time.monotonic() < deadline:
            for message in consumer.consume(num_messages=500, timeout=0.5):
                offset = message.offset()
                if message.error() is None and offset is not None:
                    last = max(last, offset)
                    if offset <= end:
                        present.add(offset)
        if last < end:
            raise MemlaneError(f"read {topic}/{partition} only up to offset {last} of {end} in {timeout_s:.0f} s")
        return present
    finally:
        consumer.close()


def resume_positions(kafka: KafkaConnection, group_id: str, topic: str, partitions: Iterable[int]) -> dict[int, int]:
    """Where the group resumes each partition: its committed offset (at least the log start); blocking."""
    wanted = sorted(set(partitions))
    consumer = make_consumer(kafka, group_id)
    try:
        committed = consumer.committed([TopicPartition(topic, p) for p in wanted], timeout=30)
        positions: dict[int, int] = {}
        for tp in committed:
            low, _high = consumer.get_watermark_offsets(TopicPartition(topic, tp.partition), timeout=30)
            has_commit = tp.error is None and tp.offset >= 0
            positions[tp.partition] = max(tp.offset, low) if has_commit else low  # below the log start: reset
        return positions
    finally:
        consumer.close()


__all__ = ["Admission", "OffsetGuard", "install_ack_filter", "present_offsets", "resume_positions"]
