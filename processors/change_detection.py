"""Change detection: which turns carry nothing new, and when the pending window must go to extraction.

Turns accumulate in a per-conversation window (`ConversationState.pending`) instead of being extracted one
by one. Turns are *skipped* here when they are redeliveries (turn index already seen), empty, or small
(`min_turn_tokens`) *and* low-information by the scorer: "ok" goes, "I'm 32." stays.

A window is flushed into one request by the first trigger that applies (`Trigger`):

    before a turn is added (the turn opens the next window)
        idle_timeout     the conversation was silent for `idle_timeout_s` (event time)
        fact_flush       the oldest pending turn is `fact_flush_interval_s` old (hourly by default)
        batch_full       the turn would push the window past `max_batch_tokens`
    after a turn is added (the turn closes this window)
        context_limit    the turn's context window is at least `context_usage_ratio` full
        high_priority    the turn is an error, decision or next step (score >= `extract_now_threshold`)
        token_threshold  the window holds `token_threshold` tokens
        turn_count       the window holds `max_window_turns` turns
    on a timer (`TurnProcessor.tick`): idle_timeout, fact_flush;  at shutdown or for tests: flush

The two clocks run on event time, so replaying a topic reproduces the same windows.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta
from enum import StrEnum

from processors.priority import PriorityClass, Score
from processors.stage_settings import ProcessorSettings
from processors.state import ConversationState
from schemas.events import ConversationTurn, WindowTurn


class Trigger(StrEnum):
    IDLE_TIMEOUT = "idle_timeout"
    FACT_FLUSH = "fact_flush"
    BATCH_FULL = "batch_full"
    CONTEXT_LIMIT = "context_limit"
    HIGH_PRIORITY = "high_priority"
    TOKEN_THRESHOLD = "token_threshold"
    TURN_COUNT = "turn_count"
    FLUSH = "flush"


class ChangeDetector:
    """Skip rules and window triggers of change detection. Pure: state in, state or verdict out."""

    def __init__(self, settings: ProcessorSettings | None = None) -> None:
        self._settings = settings or ProcessorSettings()

    # --- skip rules ------------------------------------------------------------------------------
    @staticmethod
    def redelivered(state: ConversationState, turn: ConversationTurn) -> bool:
        """The turn's index was already seen: a redelivery or an out-of-order duplicate."""
        return turn.turn_index <= state.last_turn_index

    @staticmethod
    def empty(text: str) -> bool:
        """No letter or digit at all (whitespace, punctuation only)."""
        return not any(ch.isalnum() for ch in text)

    def too_small(self, tokens: int, score: Score) -> bool:
        """Below `min_turn_tokens` and without the information a fact needs, and not high priority."""
        return (
            tokens < self._settings.min_turn_tokens
            and score.information < self._settings.fact_min_information
            and score.priority_class in (PriorityClass.FACT, PriorityClass.CHIT_CHAT)
        )

    # --- triggers ----------------------------------------------------------------------------------
    def due(self, state: ConversationState, now: datetime) -> Trigger | None:
        """A clock trigger the pending window has reached at event time `now`."""
        if not state.pending:
            return None
        if state.last_activity is not None and now - state.last_activity >= timedelta(
            seconds=self._settings.idle_timeout_s
        ):
            return Trigger.IDLE_TIMEOUT
        if state.window_opened_at is not None and now - state.window_opened_at >= timedelta(
            seconds=self._settings.fact_flush_interval_s
        ):
            return Trigger.FACT_FLUSH
        return None

    def overflows(self, state: ConversationState, tokens: int) -> bool:
        """Adding `tokens` to the non-empty pending window would pass `max_batch_tokens`."""
        return bool(state.pending) and state.pending_tokens + tokens > self._settings.max_batch_tokens

    def context_full(self, turn: ConversationTurn) -> bool:
        """The turn reports its context window at least `context_usage_ratio` full."""
        used, limit = turn.context_tokens_used, turn.context_tokens_limit
        return used is not None and limit is not None and used >= self._settings.context_usage_ratio * limit

    def closing(self, state: ConversationState, turn: ConversationTurn, score: Score) -> Trigger | None:
        """The trigger, if any, that the turn just added to the window sets off."""
        if self.context_full(turn):
            return Trigger.CONTEXT_LIMIT
        if score.score >= self._settings.extract_now_threshold:
            return Trigger.HIGH_PRIORITY
        if state.pending_tokens >= self._settings.token_threshold:
            return Trigger.TOKEN_THRESHOLD
        if len(state.pending) >= self._settings.max_window_turns:
            return Trigger.TURN_COUNT
        return None

    # --- window bookkeeping ------------------------------------------------------------------------
    @staticmethod
    def touch(state: ConversationState, turn: ConversationTurn) -> ConversationState:
        """`state` after seeing `turn` (whatever becomes of it): the idle clock and the redelivery mark."""
        last = turn.event_time if state.last_activity is None else max(state.last_activity, turn.event_time)
        return replace(state, last_activity=last, last_turn_index=max(state.last_turn_index, turn.turn_index))

    def add(self, state: ConversationState, window_turn: WindowTurn, cues: tuple[str, ...]) -> ConversationState:
        """`state` with `window_turn` appended to the pending window."""
        known = set(state.pending_cues)
        merged = (*state.pending_cues, *(c for c in dict.fromkeys(cues) if c not in known))
        return replace(
            state,
            pending=(*state.pending, window_turn),
            pending_cues=merged,
            window_opened_at=state.window_opened_at if state.pending else window_turn.event_time,
        )

    @staticmethod
    def take(state: ConversationState) -> tuple[ConversationState, tuple[WindowTurn, ...], tuple[str, ...]]:
        """The pending window and its cues, and `state` with the window emptied."""
        window, cues = state.pending, state.pending_cues
        last = max((t.turn_index for t in window), default=state.last_extracted_turn)
        emptied = replace(state, pending=(), pending_cues=(), window_opened_at=None, last_extracted_turn=last)
        return emptied, window, cues


__all__ = ["ChangeDetector", "Trigger"]
