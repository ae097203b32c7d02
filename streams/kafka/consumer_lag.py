"""Consumer lag: how far each consumer group is behind, in messages and in seconds, and whether it is stalled.

Per group, topic and partition: the committed offset (read by a consumer of the group that never joins
it), the log end offset (the high watermark), lag in messages (end minus committed, as
`kafka-consumer-groups --describe` computes it; a partition the group has never committed on counts from
the log start), lag in seconds (the age of the oldest message the group has not consumed: now minus the
timestamp of the message at the committed offset; 0 when caught up), and a state:

    caught-up   no lag
    lagging     lag, and the committed offset moved within `stall_after_s` (or it has not been watched long)
    stalled     lag, and either no member is in the group or the committed offset has not moved for
                `stall_after_s` seconds (as seen by this `LagMonitor`, which remembers offsets across calls)

`LagMonitor.export` sets the Prometheus gauges `memlane_consumergroup_lag`,
`memlane_consumergroup_lag_seconds` and `memlane_partition_stalled`.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

from confluent_kafka import KafkaError, KafkaException, TopicPartition
from confluent_kafka.admin import AdminClient

from schemas.errors import BrokerError, MemlaneError
from streams.kafka.connection import KafkaConnection
from streams.kafka.consumer import end_offsets, make_consumer
from streams.metrics import CONSUMER_LAG, CONSUMER_LAG_SECONDS, PARTITION_STALLED

_TIMEOUT_S = 30.0
_COORDINATOR_MOVING = {
    KafkaError.NOT_COORDINATOR,
    KafkaError.COORDINATOR_LOAD_IN_PROGRESS,
    KafkaError.COORDINATOR_NOT_AVAILABLE,
}

CAUGHT_UP = "caught-up"
LAGGING = "lagging"
STALLED = "stalled"


@dataclass(frozen=True)
class PartitionLag:
    group: str
    topic: str
    partition: int
    committed: int | None
    """The group's committed offset; None when it never committed on this partition."""
    log_end: int
    lag: int
    lag_seconds: float
    members: int
    state: str

    @property
    def stalled(self) -> bool:
        return self.state == STALLED

    def as_dict(self) -> dict[str, object]:
        return {
            "group": self.group,
            "topic": self.topic,
            "partition": self.partition,
            "committed": self.committed,
            "log_end": self.log_end,
            "lag": self.lag,
            "lag_seconds": round(self.lag_seconds, 3),
            "members": self.members,
            "state": self.state,
        }


class LagMonitor:
    """Measures the lag of consumer groups; remembers committed offsets between calls to tell a stall."""

    def __init__(
        self, kafka: KafkaConnection, *, stall_after_s: float = 120.0, clock: Callable[[], float] = time.time
    ) -> None:
        self.kafka = kafka
        self.stall_after_s = stall_after_s
        self.clock = clock
        self._admin = AdminClient(kafka.as_librdkafka_dict())
        self._moved: dict[tuple[str, str, int], tuple[int | None, float]] = {}
        self._exported: set[tuple[str, str, str]] = set()

    def measure(self, groups: Mapping[str, Sequence[str]]) -> list[PartitionLag]:
        """Lag of every partition of the topics each group consumes (`{group: [topic, ...]}`)."""
        rows: list[PartitionLag] = []
        wanted_topics = sorted({topic for topics in groups.values() for topic in topics})
        marks = self._watermarks(wanted_topics)
        for group, topics in groups.items():
            committed = self._committed(group, {topic: marks[topic] for topic in topics if topic in marks})
            members = self._members(group)
            for topic in topics:
                for partition, (low, high) in sorted(marks.get(topic, {}).items()):
                    offset = committed.get((topic, partition))
                    start = offset if offset is not None else low
                    lag = max(0, high - max(start, low))
                    rows.append(self._row(group, topic, partition, offset=offset, high=high, lag=lag, members=members))
        return self._with_ages(rows, marks)

    def _row(
        self, group: str, topic: str, partition: int, *, offset: int | None, high: int, lag: int, members: int
    ) -> PartitionLag:
        now = self.clock()
        key = (group, topic, partition)
        previous = self._moved.get(key)
        if previous is None or previous[0] != offset:
            self._moved[key] = (offset, now)
            unchanged_s = 0.0
        else:
            unchanged_s = now - previous[1]
        if lag == 0:
            state = CAUGHT_UP
        elif members == 0 or unchanged_s >= self.stall_after_s:
            state = STALLED
        else:
            state = LAGGING
        return PartitionLag(group, topic, partition, offset, high, lag, 0.0, members, state)

    def _watermarks(self, topics: Sequence[str]) -> dict[str, dict[int, tuple[int, int]]]:
        """(low, high) per partition of each topic that exists (retrying while leadership moves)."""
        if not topics:
            return {}
        consumer = make_consumer(self.kafka, f"memlane-lag-{uuid.uuid4().hex[:8]}")
        marks: dict[str, dict[int, tuple[int, int]]] = {}
        try:
            for topic in topics:
                try:
                    marks[topic] = end_offsets(consumer, topic, timeout=_TIMEOUT_S)
                except MemlaneError:
                    continue  # not created yet: nothing to lag behind
            return marks
        finally:
            consumer.close()

    def _committed(self, group: str, marks: dict[str, dict[int, tuple[int, int]]]) -> dict[tuple[str, int], int]:
        """The group's committed offsets on the partitions of `marks`.

        Read with a consumer of the group that never joins it (`committed()`), not the admin API's
        `list_consumer_group_offsets`: librdkafka crashes the process when that request meets a
        coordinator that is moving or loading (librdkafka issue #5040), which a fresh broker does."""
        wanted = [TopicPartition(topic, p) for topic, parts in marks.items() for p in parts]
        if not wanted:
            return {}
        consumer = make_consumer(self.kafka, group)
        deadline = time.monotonic() + _TIMEOUT_S
        try:
            while True:
                try:
                    found = consumer.committed(wanted, timeout=_TIMEOUT_S)
                    break
                except KafkaException as exc:
                    error = exc.args[0]
                    if not error.retriable() and error.code() not in _COORDINATOR_MOVING:
                        raise BrokerError(f"cannot read the offsets of group {group}: {error}") from exc
                    if time.monotonic() > deadline:
                        raise BrokerError(f"cannot read the offsets of group {group}: {error}") from exc
                    time.sleep(0.5)  # the group's coordinator is moving or loading: ask again
        finally:
            consumer.close()
        return {(tp.topic, tp.partition): tp.offset for tp in found if tp.offset is not None and tp.offset >= 0}

    def _members(self, group: str) -> int:
        try:
            described = self._admin.describe_consumer_groups([group])[group].result(_TIMEOUT_S)
        except KafkaException as exc:
            if exc.args[0].code() == KafkaError.GROUP_ID_NOT_FOUND:
                return 0
            raise BrokerError(f"cannot describe group {group}: {exc.args[0]}") from exc
        return len(described.members)

    def _with_ages(self, rows: list[PartitionLag], marks: dict[str, dict[int, tuple[int, int]]]) -> list[PartitionLag]:
        """Fill `lag_seconds` from the timestamp of the oldest unconsumed message of each lagging partition."""
        positions = {
            (
                row.topic,
                row.partition,
                row.committed if row.committed is not None else marks[row.topic][row.partition][0],
            )
            for row in rows
            if row.lag > 0
        }
        stamps = self._timestamps(sorted(positions))
        now_ms = self.clock() * 1000.0
        out = []
        for row in rows:
            if row.lag == 0:
                out.append(row)
                continue
            offset = row.committed if row.committed is not None else marks[row.topic][row.partition][0]
            stamp = stamps.get((row.topic, row.partition, offset))
            age = max(0.0, (now_ms - stamp) / 1000.0) if stamp is not None else 0.0
            out.append(
                PartitionLag(
                    row.group,
                    row.topic,
                    row.partition,
                    row.committed,
                    row.log_end,
                    row.lag,
                    age,
                    row.members,
                    row.state,
                )
            )
        return out

    def _timestamps(self, positions: Sequence[tuple[str, int, int]]) -> dict[tuple[str, int, int], float]:
        """The timestamp (ms) of the message at each (topic, partition, offset)."""
        if not positions:
            return {}
        consumer = make_consumer(self.kafka, f"memlane-lag-{uuid.uuid4().hex[:8]}", **{"enable.partition.eof": False})
        found: dict[tuple[str, int, int], float] = {}
        by_partition: dict[tuple[str, int], int] = {}
        for topic, partition, offset in positions:
            by_partition.setdefault((topic, partition), offset)
        try:
            consumer.assign([TopicPartition(t, p, o) for (t, p), o in by_partition.items()])
            deadline = time.monotonic() + 10.0
            while len(found) < len(by_partition) and time.monotonic() < deadline:
                for message in consumer.consume(num_messages=len(by_partition), timeout=0.5):
                    if message.error() is not None:
                        continue
                    key = (message.topic() or "", message.partition() or 0)
                    wanted = by_partition.get(key)
                    if wanted is None or (message.topic() or "", key[1], wanted) in found:
                        continue
                    _kind, stamp = message.timestamp()
                    found[(key[0], key[1], wanted)] = float(stamp)
                    consumer.pause([TopicPartition(key[0], key[1])])
        finally:
            consumer.close()
        return found

    def export(self, rows: Sequence[PartitionLag]) -> None:
        """Set the lag gauges for `rows`; series of partitions no longer measured are removed."""
        seen: set[tuple[str, str, str]] = set()
        for row in rows:
            labels = (row.group, row.topic, str(row.partition))
            seen.add(labels)
            CONSUMER_LAG.labels(*labels).set(row.lag)
            CONSUMER_LAG_SECONDS.labels(*labels).set(row.lag_seconds)
            PARTITION_STALLED.labels(*labels).set(1 if row.stalled else 0)
        for labels in self._exported - seen:
            for gauge in (CONSUMER_LAG, CONSUMER_LAG_SECONDS, PARTITION_STALLED):
                gauge.remove(*labels)
        self._exported = seen


__all__ = ["CAUGHT_UP", "LAGGING", "STALLED", "LagMonitor", "PartitionLag"]
