"""OffsetGuard: contiguous offsets per turns partition, seeks back over gaps, and the consumer ack filter."""

from __future__ import annotations

from dataclasses import dataclass, field

from streams.processor_app.offset_guard import Admission, OffsetGuard, install_ack_filter

TOPIC = "memlane.turns.v1"


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def guard(**positions: int) -> tuple[OffsetGuard, Clock]:
    clock = Clock()
    g = OffsetGuard(TOPIC, reseek_after_s=2.0, clock=clock)
    g.start({int(p.removeprefix("p")): offset for p, offset in positions.items()})
    return g, clock


def test_contiguous_offsets_are_admitted_from_the_resume_position() -> None:
    g, _ = guard(p0=40)
    assert [g.admit(0, offset) for offset in (40, 41, 42)] == [Admission.NEXT] * 3
    assert g.next_offset(0) == 43
    assert g.seeks_due() == {}
    assert g.gaps == 0


def test_offsets_below_the_next_one_were_handled_before() -> None:
    g, _ = guard(p0=40)
    assert g.admit(0, 39) is Admission.SEEN  # committed by the group before this assignment
    assert g.admit(0, 40) is Admission.NEXT
    assert g.admit(0, 40) is Admission.SEEN  # redelivered after a seek
    assert g.next_offset(0) == 41


def test_a_gap_drops_the_events_and_asks_for_one_seek_back_to_the_missing_offset() -> None:
    g, clock = guard(p0=64, p1=7)
    assert g.admit(0, 64) is Admission.NEXT
    # the stream skipped 65..276 (and acked them); the next event it hands over is 277
    assert [g.admit(0, offset) for offset in (277, 278, 279)] == [Admission.GAP] * 3
    assert g.seeks_due() == {0: 65}
    assert g.seeks_due() == {}, "one seek per gap, not one per stale event"
    assert g.admit(1, 7) is Admission.NEXT, "other partitions are not held up"
    clock.now += 1.0
    assert g.admit(0, 280) is Admission.GAP
    assert g.seeks_due() == {}
    clock.now += 1.5  # the seek did not take effect in time: ask again
    assert g.admit(0, 281) is Admission.GAP
    assert g.seeks_due() == {0: 65}
    # after the seek the missing offsets arrive, then the rest in order
    assert [g.admit(0, offset) for offset in range(65, 70)] == [Admission.NEXT] * 5
    assert g.gaps == 2
    assert g.next_offset(0) == 70


def test_revoked_partitions_are_forgotten_and_start_again_from_the_group_position() -> None:
    g, _ = guard(p0=10, p2=5)
    assert g.admit(0, 10) is Admission.NEXT
    g.forget([0])
    assert not g.tracks(0) and g.tracks(2)
    g.start({0: 11, 2: 99})  # only untracked partitions take a new start
    assert g.next_offset(0) == 11
    assert g.next_offset(2) == 5


@dataclass
class Message:
    topic: str
    partition: int
    offset: int


@dataclass
class RecordingConsumer:
    acked: list[tuple[str, int, int]] = field(default_factory=list)

    def ack(self, message: Message) -> bool:
        self.acked.append((message.topic, message.partition, message.offset))
        return True


def test_the_consumer_counts_only_acks_the_agent_released_on_the_guarded_topic() -> None:
    g, _ = guard(p0=0)
    consumer = RecordingConsumer()
    install_ack_filter(consumer, g)
    install_ack_filter(consumer, g)  # idempotent: not wrapped twice

    assert consumer.ack(Message(TOPIC, 0, 5)) is False, "an ack Faust made for an event it skipped"
    g.release(0, 6)
    assert consumer.ack(Message(TOPIC, 0, 6)) is True
    assert consumer.ack(Message(TOPIC, 0, 6)) is False, "a release is used once"
    assert consumer.ack(Message("memlane-processors-ticks", 0, 5)) is True, "other topics pass through"
    assert consumer.acked == [(TOPIC, 0, 6), ("memlane-processors-ticks", 0, 5)]


def test_offsets_without_records_are_stepped_over_now_and_later() -> None:
    g, _ = guard(p0=10)
    assert g.admit(0, 10) is Admission.NEXT
    assert g.admit(0, 12) is Admission.GAP  # 11 is a transaction marker
    assert g.seeks_due() == {0: 11}
    assert g.mark_absent(0, {11, 15}) == 12
    assert g.seeks_due() == {}, "the caller seeks to the returned offset itself"
    assert g.admit(0, 13) is Admission.GAP, "a stale event after the seek asks for nothing new"
    assert g.seeks_due() == {}
    assert [g.admit(0, offset) for offset in (12, 13, 14, 16)] == [Admission.NEXT] * 4, "15 is stepped over"
    assert g.next_offset(0) == 17
