"""Tuning of the stream processors: change detection, dedupe and priority scoring (`MEMLANE_PROCESSORS__*`).

Every threshold the three stages use lives here, with its default and what it trades off. Times are
*event* time (the turns' own timestamps), never wall-clock, so a replay decides exactly what the live
run decided. Defaults were tuned on the LoCoMo dev conversations (`streams/bench/locomo_eval.py`).
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, model_validator

from schemas.errors import ConfigError
from schemas.events import MAX_FUTURE_EVENT_S


class PriorityWeights(BaseModel):
    """The score recorded for each content class (`MEMLANE_PROCESSORS__WEIGHTS__ERROR=1.0`)."""

    model_config = ConfigDict(use_attribute_docstrings=True)

    error: float = Field(default=1.0, ge=0.0, le=1.0)
    """Priority of a turn that reports an error."""
    decision: float = Field(default=0.9, ge=0.0, le=1.0)
    """Priority of a turn that records a decision."""
    next_step: float = Field(default=0.8, ge=0.0, le=1.0)
    """Priority of a turn that names a next step."""
    fact: float = Field(default=0.5, ge=0.0, le=1.0)
    """Priority of a turn that states a fact."""
    chit_chat: float = Field(default=0.1, ge=0.0, le=1.0)
    """Priority of small talk."""


class ProcessorSettings(BaseModel):
    """Thresholds of the three processor stages."""

    model_config = ConfigDict(use_attribute_docstrings=True)

    # --- what a turn may claim -------------------------------------------------------------------------
    max_future_event_s: float = Field(default=MAX_FUTURE_EVENT_S, gt=0.0)
    """How far a turn's event time may lie after its publish time (publisher: after now). Further ahead is a
    broken clock: the publisher rejects such a turn and the processors quarantine it."""

    # --- change detection: windowing and triggers ----------------------------------------------
    min_turn_tokens: int = Field(default=6, ge=0)
    """A turn below this is *small*; it is skipped only when the scorer also finds no information in it."""
    token_threshold: int = Field(default=1500, ge=1)
    """New (pending) tokens since the last extraction that trigger one."""
    max_window_turns: int = Field(default=40, ge=1)
    """Pending turns that trigger an extraction (the turn-count trigger)."""
    context_usage_ratio: float = Field(default=0.8, gt=0.0, le=1.0)
    """A turn whose context window is at least this full triggers extraction of the pending window."""
    idle_timeout_s: float = Field(default=300.0, gt=0.0)
    """Event-time silence after which a pending window is flushed: no window waits forever. With the
    fact flush below, a fact is searchable within 5 minutes of a conversation going quiet and 15 minutes of
    being said (measured by `memlane bench locomo-filter` on LoCoMo dev5 at one turn a minute: 6.27
    requests per 100 turns against 6.01 at the former 30/60 minutes, 10.9 at 2/6 minutes)."""
    fact_flush_interval_s: float = Field(default=900.0, gt=0.0)
    """Oldest pending (fact) turn's age, in event time, at which the batch is flushed."""
    max_batch_tokens: int = Field(default=4000, ge=1)
    """A request never grows past this: a turn that would overflow it flushes the window first."""

    # --- dedupe ------------------------------------------------------------------------------------
    near_duplicate_threshold: float = Field(default=0.85, ge=0.0, le=1.0)
    """Cosine similarity at or above which a turn repeats recent content or an existing memory."""
    dedupe_min_tokens: int = Field(default=4, ge=0)
    """Shorter turns ("yes", "ok") are never deduplicated: their meaning lives in their context."""
    recent_hashes: int = Field(default=256, ge=0)
    """Normalised-text hashes of forwarded turns kept per conversation (exact dedupe)."""
    recent_vectors: int = Field(default=16, ge=0)
    """Embeddings of forwarded turns kept per conversation (near dedupe), stored as float16."""
    memory_lookup_limit: int = Field(default=3, ge=1)
    """Nearest existing memories asked of the memory store per turn."""

    # --- priority scoring --------------------------------------------------------------------------
    weights: PriorityWeights = PriorityWeights()
    """Priority weight of each class of turn."""
    extract_now_threshold: float = Field(default=0.8, ge=0.0, le=1.0)
    """Turns scoring at least this (error, decision, next step) are extracted now, with the pending window."""
    chit_chat_skip_threshold: float = Field(default=0.2, ge=0.0, le=1.0)
    """Turns scoring below this are not sent to the LLM (stage priority, reason chit_chat)."""
    fact_min_information: float = Field(default=1.0, ge=0.0)
    """Information (fact cues) a turn with small-talk cues needs to count as a fact rather than chit-chat.

    The main recall/cost knob. On the LoCoMo dev conversations: 0 sends every token; 1 (default) sends 87% of
    the tokens and keeps 97% of the QA-evidence turns; 2 sends 76% and keeps 93%; 3 sends 67% and keeps 85%.
    """
    cue_weights: dict[str, float] = Field(default_factory=dict)
    """Information weight per fact cue name, overriding the built-in ones (`{"fact:attachment": 0.5}`)."""
    max_request_cues: int = Field(default=32, ge=0)
    """Cues copied onto a request (the union of its turns' cues, first seen first)."""

    # --- routing hint on the request ---------------------------------------------------------------
    complex_route_tokens: int = Field(default=3000, ge=1)
    """Windows longer than this go to the `complex` (larger) model."""
    complex_route_speakers: int = Field(default=3, ge=2)
    """Windows with at least this many distinct speakers go to the `complex` model."""
    complex_route_decisions: int = Field(default=2, ge=1)
    """Windows with at least this many decision turns go to the `complex` model."""

    @model_validator(mode="after")
    def _check(self) -> ProcessorSettings:
        if self.token_threshold > self.max_batch_tokens:
            raise ConfigError(
                f"MEMLANE_PROCESSORS__TOKEN_THRESHOLD ({self.token_threshold}) exceeds "
                f"MEMLANE_PROCESSORS__MAX_BATCH_TOKENS ({self.max_batch_tokens})"
            )
        if self.chit_chat_skip_threshold > self.extract_now_threshold:
            raise ConfigError("chit_chat_skip_threshold must not exceed extract_now_threshold")
        return self


__all__ = ["PriorityWeights", "ProcessorSettings"]
