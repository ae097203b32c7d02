"""Lag arithmetic and the stall detector, on offsets alone (no broker)."""

from __future__ import annotations

import pytest

from streams.kafka.lag import PartitionLag, StallDetector


def lag(committed: int | None, end: int, *, start: int = 0, partition: int = 0) -> PartitionLag:
    return PartitionLag("g", "t", partition, committed, start, end)


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_lag_is_what_the_group_has_not_committed() -> None:
    assert lag(40, 100).lag == 60
    assert lag(100, 100).lag == 0
    assert lag(None, 100).lag == 100, "nothing committed: everything still there is unread"
    assert lag(None, 100, start=70).lag == 30, "retention removed the first 70"
    assert lag(10, 100, start=70).lag == 30, "a commit below the log start counts from the start"


def test_a_lagging_partition_stalls_once_its_commit_stands_still_long_enough() -> None:
    clock = Clock()
    detector = StallDetector(stall_after_s=10, clock=clock)
    assert detector.observe([lag(5, 50)]) == []
    clock.now = 9.9
    assert detector.observe([lag(5, 60)]) == [], "not yet 10 s"
    clock.now = 10.0
    (stall,) = detector.observe([lag(5, 70)])
    assert stall.partition.lag == 65 and stall.stalled_s == 10.0


def test_a_slow_consumer_that_keeps_committing_is_lagging_not_stalled() -> None:
    clock = Clock()
    detector = StallDetector(stall_after_s=10, clock=clock)
    for step in range(10):
        clock.now = 5.0 * step
        assert detector.observe([lag(step, 100)]) == []


def test_caught_up_partitions_forget_their_history() -> None:
    clock = Clock()
    detector = StallDetector(stall_after_s=10, clock=clock)
    detector.observe([lag(5, 50)])
    clock.now = 8
    detector.observe([lag(50, 50)])
    clock.now = 12
    assert detector.observe([lag(50, 60)]) == [], "the clock restarts when new input arrives"
    clock.now = 22
    assert [s.partition.partition for s in detector.observe([lag(50, 60), lag(0, 0, partition=1)])] == [0]


def test_stall_after_must_be_positive() -> None:
    with pytest.raises(ValueError, match="stall_after_s"):
        StallDetector(stall_after_s=0)
