"""The table value: state + position round-trip; replays recognised by offset; pending windows read cheaply."""

from __future__ import annotations

import json

import pytest
from processor_app_support import conversation

from processors.pipeline import TurnProcessor
from processors.state import ConversationState
from schemas.errors import ValidationError
from streams.processor_app.envelope import StoredState, pending_window


def _state_after(turns: int) -> ConversationState:
    processor = TurnProcessor()
    state = None
    for t in conversation(turns):
        state, _ = processor.process(state, t, 0, t.turn_index)
    assert state is not None
    return state


def test_round_trip_keeps_state_and_position() -> None:
    stored = StoredState(_state_after(4), partition=2, offset=41)
    again = StoredState.from_bytes(stored.to_bytes())
    assert again == stored
    assert again.state.pending == stored.state.pending and again.state.pending


def test_applied_compares_offsets_on_the_same_partition_only() -> None:
    stored = StoredState(_state_after(2), partition=1, offset=10)
    assert stored.applied(1, 10) and stored.applied(1, 3)
    assert not stored.applied(1, 11)
    assert not stored.applied(0, 3)


def test_damaged_or_unknown_values_are_refused() -> None:
    good = json.loads(StoredState(_state_after(1), 0, 0).to_bytes())
    for raw in (
        b"\xff\xfe",
        b"[]",
        json.dumps({**good, "v": 2}).encode(),
        json.dumps({**good, "offset": "7"}).encode(),
    ):
        with pytest.raises(ValidationError):
            StoredState.from_bytes(raw)


def test_pending_window_reads_the_clocks_without_the_whole_state() -> None:
    state = _state_after(4)
    window = pending_window(StoredState(state, 2, 4).to_bytes())
    assert window is not None
    assert (window.partition, window.last_activity, window.window_opened_at) == (
        2,
        state.last_activity,
        state.window_opened_at,
    )
    empty = ConversationState("c", "acme", "alice")
    assert pending_window(StoredState(empty, 0, 0).to_bytes()) is None
