"""When a pending window is flushed without a new turn: event-time deadlines checked against wall-clock silence.

A window is *due* at the event-time deadline `due_at(state)`: the earlier of `last_activity + idle_timeout_s`
and `window_opened_at + fact_flush_interval_s` (`processors.change_detection` has the same two clocks).
Every flush of a due window, whichever path makes it, is `TurnProcessor.tick(state, due_at)`: the request
is stamped with the deadline, not with the moment the flush ran, so a restarted worker that flushes the
same window again emits the same request, byte for byte.

Two paths flush a due window:

* a turn of the conversation whose event time has reached the deadline (before the turn is applied);
* a tick, when the conversation has been silent on this worker (no turn of it applied) for as long, in
  wall-clock seconds, as the deadline is after its last activity in event time, or for `drain_flush_s`
  when that is set (a drained stream: replays, benchmarks, `--idle-exit`). Event time alone cannot say
  that a conversation went silent: the next turn may simply not have been read yet.

`PendingIndex` keeps, per partition, the conversations with a pending window and their clocks, so a tick
does not read the table; a worker fills it for newly assigned partitions from the table once.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

from processors.stage_settings import ProcessorSettings
from processors.state import ConversationState


def later(moment: datetime, seconds: float) -> datetime:
    """`moment` plus `seconds`, saturating at the latest representable time instead of overflowing."""
    try:
        return moment + timedelta(seconds=seconds)
    except OverflowError:
        return datetime.max.replace(tzinfo=moment.tzinfo)


def deadline(last_activity: datetime, window_opened_at: datetime, settings: ProcessorSettings) -> datetime:
    """The event time at which a window opened at `window_opened_at`, last active at `last_activity`, is due."""
    return min(later(last_activity, settings.idle_timeout_s), later(window_opened_at, settings.fact_flush_interval_s))


def due_at(state: ConversationState, settings: ProcessorSettings) -> datetime | None:
    """When `state`'s pending window is due, in event time; None when nothing is pending."""
    if not state.pending or state.last_activity is None or state.window_opened_at is None:
        return None
    return deadline(state.last_activity, state.window_opened_at, settings)


@dataclass(frozen=True)
class Silence:
    """A conversation with a pending window: its event-time clocks and when this worker last saw it."""

    due_at: datetime
    last_activity: datetime
    seen: float
    """`time.monotonic()` when a turn of the conversation was last applied here (or the index was filled)."""

    def flush_now(self, now: float, drain_flush_s: float | None) -> bool:
        silent = now - self.seen
        if drain_flush_s is not None and silent >= drain_flush_s:
            return True
        return silent >= (self.due_at - self.last_activity).total_seconds()


class PendingIndex:
    """Conversations with a pending window, per partition of the turns topic."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._windows: dict[int, dict[str, Silence]] = {}
        self._filled: set[int] = set()

    def filled(self, partition: int) -> bool:
        """Has this partition's index been filled from the table since it was assigned?"""
        return partition in self._filled

    def fill(self, partition: int, windows: Mapping[str, Silence]) -> None:
        """Adds the windows read from the table; entries set by turns applied meanwhile are newer and stay."""
        known = self._windows.setdefault(partition, {})
        for conversation, silence in windows.items():
            known.setdefault(conversation, silence)
        self._filled.add(partition)

    def update(
        self, partition: int, conversation: str, state: ConversationState, settings: ProcessorSettings, *, seen: bool
    ) -> None:
        """Records `state` after a write; `seen`: a turn of the conversation was just applied."""
        windows = self._windows.setdefault(partition, {})
        at = due_at(state, settings)
        if at is None or state.last_activity is None:
            windows.pop(conversation, None)
            return
        previous = windows.get(conversation)
        stamp = self._clock() if seen or previous is None else previous.seen
        windows[conversation] = Silence(at, state.last_activity, stamp)

    def forget(self, partitions: Iterable[int]) -> None:
        """Drops partitions this worker no longer owns (their index is refilled if they come back)."""
        for partition in partitions:
            self._windows.pop(partition, None)
            self._filled.discard(partition)

    def due(self, partition: int, drain_flush_s: float | None) -> list[str]:
        """Conversations of `partition` whose window a tick now should flush."""
        now = self._clock()
        windows = self._windows.get(partition, {})
        return sorted(c for c, silence in windows.items() if silence.flush_now(now, drain_flush_s))

    def pending(self, partitions: Iterable[int] | None = None) -> int:
        """How many conversations have a pending window (in `partitions`, or in all)."""
        wanted = self._windows if partitions is None else {p: self._windows.get(p, {}) for p in partitions}
        return sum(len(windows) for windows in wanted.values())

    def now(self) -> float:
        return self._clock()


__all__ = ["PendingIndex", "Silence", "deadline", "due_at"]
