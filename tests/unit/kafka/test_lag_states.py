"""The lag monitor's states on offsets alone: caught-up, lagging while the commit moves, stalled once it stands
still for `stall_after_s` or when no member is in the group (no broker: the admin client never connects)."""

from __future__ import annotations

from streams.kafka.connection import KafkaConnection
from streams.kafka.consumer_lag import CAUGHT_UP, LAGGING, STALLED, LagMonitor


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def monitor(clock: Clock) -> LagMonitor:
    return LagMonitor(KafkaConnection(bootstrap_servers="127.0.0.1:1"), stall_after_s=10.0, clock=clock)


def state(watch: LagMonitor, *, offset: int | None, lag: int, members: int = 1, partition: int = 0) -> str:
    return watch._row("g", "t", partition, offset=offset, high=100, lag=lag, members=members).state


def test_a_lagging_partition_stalls_once_its_commit_stands_still_long_enough() -> None:
    clock = Clock()
    watch = monitor(clock)
    assert state(watch, offset=5, lag=95) == LAGGING
    clock.now += 9
    assert state(watch, offset=5, lag=95) == LAGGING, "not yet 10 s"
    clock.now += 1
    assert state(watch, offset=5, lag=95) == STALLED
    assert state(watch, offset=5, lag=95, partition=1) == LAGGING, "each partition has its own clock"


def test_a_slow_consumer_that_keeps_committing_is_lagging_and_a_caught_up_one_is_neither() -> None:
    clock = Clock()
    watch = monitor(clock)
    for step in range(1, 30):
        clock.now += 5
        assert state(watch, offset=step, lag=100 - step) == LAGGING
    clock.now += 60
    assert state(watch, offset=29, lag=0) == CAUGHT_UP


def test_a_group_without_members_is_stalled_at_once_when_behind() -> None:
    watch = monitor(Clock())
    assert state(watch, offset=None, lag=100, members=0) == STALLED
    assert state(watch, offset=100, lag=0, members=0) == CAUGHT_UP
