"""The summarise worker's sink without a broker: a recording producer, a scripted summariser and a blocks
topic replayed from what the sink produced. Redelivered windows change nothing, a reassignment reads the
open blocks back (another member's progress included), an abandoned checkpoint forgets its advances, and a
level-3 failure is parked while level-1 failures are only counted."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from processors.extraction.contract import ErrorClass, extraction_failure
from processors.offload.summaries import SUMMARISER, SummaryOutcome, summary_memory_id
from processors.offload.summary_settings import SummarySettings
from schemas.codec import SingleObjectCodec
from schemas.events import ExtractionRequest, MemoryBatch, Role, WindowTurn
from sinks.base import SinkRecord
from streams.settings import Settings
from streams.workers.summarise import SummariseSink

T0 = datetime(2025, 6, 1, 9, 0, tzinfo=UTC)


@dataclass
class Sent:
    topic: str
    value: bytes
    key: bytes | None
    headers: Any


class RecordingProducer:
    """What the sink sends, in order (the checkpoint's flush is the loop's business)."""

    value_limit = 1_000_000

    def __init__(self) -> None:
        self.sent: list[Sent] = []

    def send(self, topic: str, value: bytes, *, key: Any = None, headers: Any = None, **_: Any) -> None:
        self.sent.append(Sent(topic, value, key if isinstance(key, bytes | None) else key.encode(), headers))


@dataclass
class FakeMessage:
    k: bytes | None
    v: bytes | None

    def key(self) -> bytes | None:
        return self.k

    def value(self) -> bytes | None:
        return self.v


def window(first: int, last: int, level: int | None = None) -> ExtractionRequest:
    turns = tuple(
        WindowTurn(
            event_id=f"e{i}",
            turn_index=i,
            role=Role.USER,
            speaker="Ana",
            user_id="ana",
            content=f"turn {i}",
            token_count=3,
            event_time=T0 + timedelta(minutes=i),
        )
        for i in range(first, last + 1)
    )
    return ExtractionRequest(
        request_id=f"req-{first}-{last}",
        conversation_id="c1",
        tenant_id="acme",
        user_id="ana",
        first_turn_index=first,
        last_turn_index=last,
        turns=turns,
        priority=0.5,
        priority_class="fact",
        trigger="turn_count",
        token_count=3 * len(turns),
        task="summary" if level == 3 else "extract",
        summary_level=level,
    )


class Harness:
    def __init__(self, blocks: list[FakeMessage], fail_levels: set[int] = frozenset()) -> None:  # type: ignore[assignment]
        self.settings = Settings()
        self.producer = RecordingProducer()
        self.blocks = blocks
        self.fail_levels = fail_levels
        self.calls: list[str] = []
        self.sink = SummariseSink(
            self.settings.stream_context(),
            self.summarise,
            self.producer,  # type: ignore[arg-type]
            settings=SummarySettings(),
            read_states=self.read,
            model="m",
        )

    def read(self) -> Iterator[Any]:
        return iter(list(self.blocks))

    def summarise(self, request: ExtractionRequest) -> SummaryOutcome:
        self.calls.append(request.request_id)
        if (request.summary_level or 1) in self.fail_levels:
            raise extraction_failure("down", error_class=ErrorClass.CONNECTION_REFUSED)
        return SummaryOutcome(f"summary of {request.request_id}", "m", SUMMARISER, ())

    def write(self, *requests: ExtractionRequest) -> None:
        records = [SinkRecord(r, "requests", 0, n, raw=SingleObjectCodec().encode(r)) for n, r in enumerate(requests)]
        self.sink.write(records)
        topic = self.settings.topics.summary_blocks
        self.blocks.extend(FakeMessage(s.key, s.value) for s in self.producer.sent if s.topic == topic)
        self.producer.sent = [s for s in self.producer.sent if s.topic != topic]

    def batches(self) -> list[MemoryBatch]:
        topic = self.settings.topics.memories
        return [SingleObjectCodec().decode(s.value, MemoryBatch) for s in self.producer.sent if s.topic == topic]


def test_redelivery_and_reassignment_keep_one_block_history() -> None:
    blocks: list[FakeMessage] = []
    one = Harness(blocks)
    one.write(window(0, 4))
    one.write(window(0, 4))  # redelivered: the same range
    assert one.sink.states and len(next(iter(one.sink.states.values())).windows) == 1
    other = Harness(blocks)  # another member takes the partition over: reads the blocks back
    other.write(window(5, 9))
    (level2,) = [b for b in other.batches() if b.memories[0].summary_level == 2]
    assert level2.memories[0].memory_id == summary_memory_id("acme", "c1", 2, 0, 9)
    assert level2.memories[0].source_turn_indexes == tuple(range(10)) and other.sink.counts.restores == 1
    one.sink.on_assign([0])  # the first member gets it back: it must not trust its stale copy
    one.write(window(5, 9))
    assert one.sink.counts.restores == 2 and one.sink.counts.late_windows == 1
    assert not [b for b in one.batches() if b.memories[0].summary_level == 2], "block 0 closed already"


def test_an_abandoned_checkpoint_reads_the_blocks_back() -> None:
    blocks: list[FakeMessage] = []
    harness = Harness(blocks)
    abandoned = [SinkRecord(window(0, 4), "requests", 0, 0), SinkRecord(window(5, 9), "requests", 0, 1)]
    harness.sink.write(abandoned)  # closes block 0, but nothing of it is acknowledged
    harness.producer.sent.clear()
    harness.sink.discard()
    harness.write(window(0, 4), window(5, 9))  # the loop rewinds: the same requests come again
    assert harness.sink.counts.restores == 2 and harness.sink.counts.late_windows == 0
    (level2,) = [b for b in harness.batches() if b.memories[0].summary_level == 2]  # written again, not lost
    assert level2.memories[0].source_turn_indexes == tuple(range(10))


def test_level_one_failures_are_counted_and_level_three_failures_parked() -> None:
    harness = Harness([], fail_levels={1, 3})
    harness.write(window(0, 9), window(0, 29, level=3))
    assert harness.sink.counts.failures == {"1:m:connection_refused": 1, "3:m:connection_refused": 1}
    assert harness.sink.counts.dead_lettered == 1 and harness.batches() == []
    (parked,) = [s for s in harness.producer.sent if s.topic == harness.settings.topics.dlq]
    assert dict(parked.headers)["memlane.error.stage"] in (b"summarise", "summarise")
