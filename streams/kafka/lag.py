"""Consumer lag per partition, and the stall detector: which group is behind, and which stopped moving.

    lags = LagReader(kafka).lag(group, topic)   # committed vs end offset, partition by partition
    detector = StallDetector(stall_after_s=30)
    stalls = detector.observe(lags)              # lagging partitions whose committed offset stood still 30 s

`lag` is the end offset less the committed offset; where the group committed nothing yet, less the
partition's first offset (everything still there is unread). A partition is *stalled* when it has lag and
its committed offset has not moved for `stall_after_s`: a slow consumer that keeps committing is lagging,
not stalled, and one with nothing to read is neither. The detector is pure (offsets in, verdicts out, an
injectable clock); the reader asks the broker with one admin client, whatever the number of groups.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from confluent_kafka import ConsumerGroupTopicPartitions, KafkaException, TopicPartition
from confluent_kafka.admin import AdminClient, OffsetSpec

from schemas.errors import BrokerError
from streams.kafka.connection import KafkaConnection


@dataclass(frozen=True)
class PartitionLag:
    """One partition of `topic` as group `group` sees it."""

    group: str
    topic: str
    partition: int
    committed: int | None
    """The group's committed offset (the next one it will read), None before its first commit."""
    start: int
    end: int

    @property
    def lag(self) -> int:
        """Messages the group has not committed yet."""
        return max(0, self.end - max(self.start, self.committed if self.committed is not None else self.start))


@dataclass(frozen=True)
class Stall:
    """A lagging partition whose committed offset has not moved for `stalled_s` seconds."""

    partition: PartitionLag
    stalled_s: float


Key = tuple[str, str, int]


class StallDetector:
    """Remembers since when each partition's committed offset stood still; `observe` names the stalled ones."""

    def __init__(self, *, stall_after_s: float, clock: Callable[[], float] = time.monotonic) -> None:
        if stall_after_s <= 0:
            raise ValueError(f"stall_after_s must be > 0, got {stall_after_s}")
        self.stall_after_s = stall_after_s
        self._clock = clock
        self._since: dict[Key, tuple[int | None, float]] = {}

    def observe(self, lags: Iterable[PartitionLag]) -> list[Stall]:
        """Take one reading of some partitions; the stalled ones among them."""
        now = self._clock()
        stalls: list[Stall] = []
        for lag in lags:
            key = (lag.group, lag.topic, lag.partition)
            if lag.lag == 0:
                self._since.pop(key, None)
                continue
            committed, since = self._since.get(key, (lag.committed, now))
            if committed != lag.committed:
                since = now
            self._since[key] = (lag.committed, since)
            if now - since >= self.stall_after_s:
                stalls.append(Stall(lag, now - since))
        return stalls


class LagReader:
    """Reads committed, first and end offsets from the broker through one admin client."""

    def __init__(self, kafka: KafkaConnection, *, timeout_s: float = 15.0) -> None:
        self._admin = AdminClient(kafka.as_librdkafka_dict())
        self.timeout_s = timeout_s

    def lag(self, group: str, topic: str) -> list[PartitionLag]:
        """Every partition of `topic` as `group` has committed it."""
        try:
            partitions = self._partitions(topic)
            committed = self._committed(group, topic, partitions)
            start = self._offsets(topic, partitions, OffsetSpec.earliest())  # type: ignore[no-untyped-call]
            end = self._offsets(topic, partitions, OffsetSpec.latest())  # type: ignore[no-untyped-call]
        except KafkaException as exc:
            raise BrokerError(f"reading the lag of group {group} on {topic} failed: {exc.args[0]}") from exc
        return [PartitionLag(group, topic, p, committed.get(p), start[p], end[p]) for p in partitions]

    def _partitions(self, topic: str) -> list[int]:
        metadata = self._admin.list_topics(topic, timeout=self.timeout_s).topics.get(topic)
        if metadata is None or metadata.error is not None:
            raise BrokerError(f"topic {topic} does not exist")
        return sorted(metadata.partitions)

    def _committed(self, group: str, topic: str, partitions: list[int]) -> dict[int, int]:
        request = ConsumerGroupTopicPartitions(group, [TopicPartition(topic, p) for p in partitions])
        future = self._admin.list_consumer_group_offsets([request], request_timeout=self.timeout_s)[group]
        answer = future.result(self.timeout_s)
        return {tp.partition: tp.offset for tp in answer.topic_partitions or [] if tp.offset >= 0}

    def _offsets(self, topic: str, partitions: list[int], spec: OffsetSpec) -> dict[int, int]:
        futures = self._admin.list_offsets(
            {TopicPartition(topic, p): spec for p in partitions}, request_timeout=self.timeout_s
        )
        return {tp.partition: future.result(self.timeout_s).offset for tp, future in futures.items()}


__all__ = ["LagReader", "PartitionLag", "Stall", "StallDetector"]
