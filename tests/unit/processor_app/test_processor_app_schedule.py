"""Flush schedule: event-time deadlines, wall-clock silence, and the per-partition index of pending windows."""

from __future__ import annotations

from datetime import timedelta

from processor_app_support import T0, conversation

from processors.pipeline import TurnProcessor
from processors.stage_settings import ProcessorSettings
from processors.state import ConversationState
from streams.processor_app.schedule import PendingIndex, Silence, deadline, due_at


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def _pending_state(settings: ProcessorSettings, turns: int = 4) -> ConversationState:
    processor = TurnProcessor(settings)
    state = None
    for t in conversation(turns):
        state, _ = processor.process(state, t)
    assert state is not None and state.pending
    return state


def test_deadline_is_the_earlier_of_the_idle_and_fact_clocks() -> None:
    settings = ProcessorSettings(idle_timeout_s=600, fact_flush_interval_s=3600)
    assert deadline(T0, T0, settings) == T0 + timedelta(seconds=600)
    assert deadline(T0 + timedelta(seconds=3500), T0, settings) == T0 + timedelta(seconds=3600)
    state = _pending_state(settings)
    assert state.last_activity is not None
    assert due_at(state, settings) == state.last_activity + timedelta(seconds=600)
    assert due_at(ConversationState("c", "t", "u"), settings) is None


def test_silence_waits_for_the_event_time_gap_or_the_drain_delay() -> None:
    silence = Silence(due_at=T0 + timedelta(seconds=60), last_activity=T0, seen=10.0)
    assert not silence.flush_now(69.9, None)
    assert silence.flush_now(70.0, None)
    assert not silence.flush_now(11.0, 2.0)
    assert silence.flush_now(12.0, 2.0)


def test_index_tracks_pending_windows_per_partition() -> None:
    settings = ProcessorSettings(idle_timeout_s=30)
    clock = Clock()
    index = PendingIndex(clock)
    state = _pending_state(settings)
    index.update(1, "conv-1", state, settings, seen=True)
    assert index.pending() == 1 and index.pending([0]) == 0
    assert index.due(1, None) == []
    clock.now += 29
    assert index.due(1, None) == []
    clock.now += 1
    assert index.due(1, None) == ["conv-1"]
    index.update(1, "conv-1", state, settings, seen=True)  # a new turn resets the silence
    assert index.due(1, None) == [] and index.due(1, 0.5) == []
    clock.now += 0.5
    assert index.due(1, 0.5) == ["conv-1"]
    emptied = ConversationState("conv-1", "acme", "alice")
    index.update(1, "conv-1", emptied, settings, seen=False)
    assert index.pending() == 0


def test_fill_keeps_fresher_entries_and_forget_drops_partitions() -> None:
    settings = ProcessorSettings()
    clock = Clock()
    index = PendingIndex(clock)
    state = _pending_state(settings)
    index.update(0, "live", state, settings, seen=True)
    assert not index.filled(0)
    stale = Silence(T0, T0, seen=0.0)
    index.fill(0, {"live": stale, "recovered": stale})
    assert index.filled(0) and index.pending([0]) == 2
    assert index.due(0, 1.0) == ["recovered"], "the live entry kept its own (recent) silence"
    index.forget([0])
    assert not index.filled(0) and index.pending() == 0
