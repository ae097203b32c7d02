"""The part of a production topic a replay covers, and copying it (filtered) into the replay's input topic.

`resolve_range` turns a time range into offsets per partition with `offsets_for_times`: the first offset
whose timestamp (the publish time: see the publisher) is at or after `start`, up to the first at or after
`end` (the end offset at resolution time when nothing is that late), so a replay "until now" is a fixed
set of messages. The range is resolved once and kept in the manifest: a resumed replay copies the same
messages.

`copy_range` copies the messages of that range whose tenant and conversation match into the same
partition of the replay's topic, bytes, key, headers and timestamp untouched, plus a header naming the
source offset. Resuming reads that header on the last message of each replay partition and continues
after it, so a crash mid-copy neither loses nor duplicates a message. Undecodable messages are copied
when no filter is set (the replayed stage quarantines them, as production did) and skipped (counted)
when a filter cannot be applied to them.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from confluent_kafka import Consumer, KafkaError, KafkaException, Message, TopicPartition

from schemas.errors import CodecError, MemlaneError
from streams.kafka.consumer import end_offsets, make_consumer
from streams.kafka.context import StreamContext
from streams.kafka.parking import message_headers
from streams.kafka.producer import ReliableProducer

SOURCE_HEADER = "memlane.replay.source"
"""`<partition>:<offset>` of the production message a replay copy was made from."""


@dataclass(frozen=True)
class Selection:
    """Which events of the range a replay takes: a tenant and/or some conversations (everything when empty)."""

    tenant_id: str | None = None
    conversations: tuple[str, ...] = ()

    @property
    def filters(self) -> bool:
        return self.tenant_id is not None or bool(self.conversations)

    def takes(self, event: Any) -> bool:
        if self.tenant_id is not None and event.tenant_id != self.tenant_id:
            return False
        return not self.conversations or event.conversation_id in self.conversations


@dataclass
class CopyCounts:
    copied: int = 0
    filtered_out: int = 0
    undecodable_skipped: int = 0
    already_copied: int = 0
    by_partition: dict[int, int] = field(default_factory=dict)


def _ms(moment: datetime) -> int:
    return int(moment.timestamp() * 1000)


def resolve_range(ctx: StreamContext, topic: str, start: datetime, end: datetime) -> dict[int, tuple[int, int]]:
    """`{partition: (first, end)}` offsets of `topic` whose messages were written in [`start`, `end`)."""
    if end <= start:
        raise MemlaneError(f"the replay range is empty: --to {end.isoformat()} is not after --from {start.isoformat()}")
    consumer = make_consumer(ctx.kafka, f"memlane-replay-resolve-{uuid.uuid4().hex[:8]}")
    try:
        marks = end_offsets(consumer, topic)
        bounds: dict[int, tuple[int, int]] = {}
        for moment, slot in ((start, 0), (end, 1)):
            wanted = [TopicPartition(topic, p, _ms(moment)) for p in marks]
            for tp in consumer.offsets_for_times(wanted, timeout=30):
                if tp.error is not None:
                    raise KafkaException(tp.error)
                low, high = marks[tp.partition]
                offset = high if tp.offset < 0 else max(tp.offset, low)
                first, last = bounds.get(tp.partition, (low, high))
                bounds[tp.partition] = (offset, last) if slot == 0 else (first, offset)
        return {p: (first, max(first, last)) for p, (first, last) in sorted(bounds.items())}
    finally:
        consumer.close()


def _messages(consumer: Consumer, topic: str, partition: int, first: int, end: int) -> Iterator[Message]:
    if end <= first:
        return
    consumer.assign([TopicPartition(topic, partition, first)])
    position, idle = first, 0
    while position < end:
        batch = consumer.consume(num_messages=500, timeout=1.0)
        if not batch:
            idle += 1
            if idle > 60:
                raise MemlaneError(f"timed out reading {topic}[{partition}] at offset {position}")
            continue
        idle = 0
        for message in batch:
            error = message.error()
            if error is not None:
                if error.code() == KafkaError._PARTITION_EOF:
                    continue
                raise KafkaException(error)
            offset = message.offset()
            if offset is None or offset >= end:
                position = end
                break
            position = offset + 1
            yield message


def last_copied(ctx: StreamContext, topic: str) -> dict[int, int]:
    """`{source partition: source offset}` of the last copy in each partition of the replay's `topic`."""
    consumer = make_consumer(ctx.kafka, f"memlane-replay-resume-{uuid.uuid4().hex[:8]}")
    found: dict[int, int] = {}
    try:
        for partition, (low, high) in end_offsets(consumer, topic).items():
            if high <= low:
                continue
            for message in _messages(consumer, topic, partition, high - 1, high):
                for key, value in message_headers(message):
                    if key == SOURCE_HEADER and value is not None:
                        raw = value.decode() if isinstance(value, bytes) else value
                        source_partition, _, offset = raw.partition(":")
                        found[int(source_partition)] = int(offset)
    finally:
        consumer.close()
    return found


def copy_range(
    ctx: StreamContext,
    source: str,
    target: str,
    bounds: dict[int, tuple[int, int]],
    *,
    decode: Callable[[bytes], Any],
    selection: Selection,
    progress: Callable[[int], None] = lambda _n: None,
) -> CopyCounts:
    """Copy the selected messages of `source` in `bounds` to the same partitions of `target` (resumable)."""
    counts = CopyCounts()
    resume = last_copied(ctx, target)
    producer = ReliableProducer(ctx.kafka)
    consumer = make_consumer(ctx.kafka, f"memlane-replay-copy-{uuid.uuid4().hex[:8]}")
    try:
        for partition, (first, end) in bounds.items():
            start = max(first, resume.get(partition, first - 1) + 1)
            counts.already_copied += max(0, min(start, end) - first)
            progress(max(0, min(start, end) - first))
            for message in _messages(consumer, source, partition, start, end):
                progress(1)
                if not _selected(message, decode, selection, counts):
                    continue
                headers = [(k, v if isinstance(v, bytes) else str(v).encode()) for k, v in message_headers(message)]
                headers.append((SOURCE_HEADER, f"{partition}:{message.offset()}".encode()))
                _kind, stamp = message.timestamp()
                producer.send(
                    target,
                    message.value() or b"",
                    key=message.key(),
                    headers=headers,
                    timestamp_ms=max(stamp, 0),
                    partition=partition,
                )
                counts.copied += 1
                counts.by_partition[partition] = counts.by_partition.get(partition, 0) + 1
        producer.flush()
        producer.raise_on_failures()
    finally:
        consumer.close()
        producer.close()
    return counts


def _selected(message: Message, decode: Callable[[bytes], Any], selection: Selection, counts: CopyCounts) -> bool:
    try:
        event = decode(message.value() or b"")
    except CodecError:
        if selection.filters:
            counts.undecodable_skipped += 1
            return False
        return True
    if selection.takes(event):
        return True
    counts.filtered_out += 1
    return False


def range_size(bounds: dict[int, tuple[int, int]]) -> int:
    return sum(end - first for first, end in bounds.values())


def bounds_from_json(raw: Sequence[Sequence[int]]) -> dict[int, tuple[int, int]]:
    return {int(p): (int(first), int(end)) for p, first, end in raw}


def bounds_to_json(bounds: dict[int, tuple[int, int]]) -> list[list[int]]:
    return [[p, first, end] for p, (first, end) in sorted(bounds.items())]


__all__ = [
    "SOURCE_HEADER",
    "CopyCounts",
    "Selection",
    "bounds_from_json",
    "bounds_to_json",
    "copy_range",
    "last_copied",
    "range_size",
    "resolve_range",
]
