"""`TurnProcessor`: change detection, dedupe and priority scoring composed into one pure step per turn.

    process(state, turn, partition, offset) -> (new state, Decision)   one turn in
    tick(state, now)                        -> (new state, Decision)   idle / hourly flushes on a timer
    flush(state, now)                       -> (new state, Decision)   the pending window, whatever it holds

A `Decision` lists the extraction requests and skip records to emit. The Faust app only wires this to
topics: it keeps the state in a table, produces the records, then commits. Each turn ends in exactly one
request or exactly one skip record; the order of checks for a turn is:

    change detection   redelivered | empty | too_small                          -> skip
    dedupe (exact)     exact_duplicate of a recently forwarded turn             -> skip
    priority           chit_chat (score < chit_chat_skip_threshold)             -> skip
    dedupe (near)      near_duplicate of a recent turn or an existing memory    -> skip
    window             pending; flushed by the first trigger (see change_detection)

Near dedupe runs after priority so that no embedding is computed for small talk that is skipped anyway.
A turn reporting a nearly full context window flushes the pending window even when the turn itself is
skipped: what the agent is about to forget gets extracted first.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from processors.change_detection import ChangeDetector, Trigger
from processors.dedupe import Deduper, DedupeVerdict, MemoryLookup, TurnEmbedder
from processors.emitted import ContentOffload, extraction_request, skip_record, window_skip, window_turn
from processors.priority import CueScorer, Score, Scorer
from processors.stage_settings import ProcessorSettings
from processors.state import ConversationState
from processors.tokens import turn_text, turn_tokens
from schemas.errors import ValidationError
from schemas.events import ConversationTurn, ExtractionRequest, SkipRecord, SkipStage

PROCESSING_ERROR = "processing_error"
"""Skip reason of turns whose window could not be turned into a request (see `TurnProcessor.abandon`)."""


@dataclass(frozen=True)
class Decision:
    """What to emit after a step: requests to `extraction.requests`, skip records to `turns.skipped`."""

    requests: tuple[ExtractionRequest, ...] = ()
    skips: tuple[SkipRecord, ...] = ()

    def __add__(self, other: Decision) -> Decision:
        return Decision(self.requests + other.requests, self.skips + other.skips)

    @property
    def empty(self) -> bool:
        return not self.requests and not self.skips


@dataclass(frozen=True)
class _Where:
    partition: int | None
    offset: int | None


@dataclass(frozen=True)
class _Skip:
    stage: SkipStage
    reason: str
    detail: str
    scores: dict[str, float]
    cues: tuple[str, ...]

    def record(self, turn: ConversationTurn, tokens: int, where: _Where) -> SkipRecord:
        return skip_record(
            turn,
            self.stage,
            self.reason,
            tokens=tokens,
            detail=self.detail,
            scores=self.scores,
            cues=self.cues,
            source_partition=where.partition,
            source_offset=where.offset,
        )


_NEW = DedupeVerdict(content_hash="")


class TurnProcessor:
    """The three processor stages over one conversation's state. Holds no state of its own."""

    def __init__(
        self,
        settings: ProcessorSettings | None = None,
        *,
        scorer: Scorer | None = None,
        embedder: TurnEmbedder | None = None,
        memories: MemoryLookup | None = None,
        source_topic: str | None = None,
        offload: ContentOffload | None = None,
    ) -> None:
        self.settings = settings or ProcessorSettings()
        self._scorer: Scorer = scorer or CueScorer(self.settings)
        self._detector = ChangeDetector(self.settings)
        self._deduper = Deduper(self.settings, embedder, memories)
        self._source_topic = source_topic
        self._offload = offload

    def process(
        self,
        state: ConversationState | None,
        turn: ConversationTurn,
        source_partition: int | None = None,
        source_offset: int | None = None,
    ) -> tuple[ConversationState, Decision]:
        """One turn through the stages; `state` is None for the conversation's first turn."""
        state = state or ConversationState.for_turn(turn)
        if (state.tenant_id, state.conversation_id) != (turn.tenant_id, turn.conversation_id):
            raise ValidationError(
                f"turn of {turn.conversation_id!r} (tenant {turn.tenant_id!r}) given the state of "
                f"{state.conversation_id!r} (tenant {state.tenant_id!r}): a conversation never takes another's state",
                field="conversation_id",
            )
        text, tokens = turn_text(turn), turn_tokens(turn)
        where = _Where(source_partition, source_offset)
        if self._detector.redelivered(state, turn):
            detail = f"turn {turn.turn_index} <= last seen {state.last_turn_index}"
            verdict = _Skip(SkipStage.CHANGE_DETECTION, "redelivered", detail, {}, ())
            return state.count("turns_seen", "skipped:redelivered"), Decision(
                skips=(verdict.record(turn, tokens, where),)
            )
        decision = Decision()
        due = self._detector.due(state, turn.event_time)
        if due is not None:
            state, decision = self._flush(state, due, turn.event_time)
        state = self._detector.touch(state, turn).count("turns_seen")

        score = self._scorer.score(text, role=turn.role, tool_name=turn.tool_name)
        skip, dedupe = self._judge(state, turn, text, tokens, score)
        if skip is not None:
            state, decision = (
                state.count(f"skipped:{skip.reason}"),
                decision + Decision(skips=(skip.record(turn, tokens, where),)),
            )
            if self._detector.context_full(turn) and state.pending:
                state, flushed = self._flush(state, Trigger.CONTEXT_LIMIT, turn.event_time)
                decision += flushed
            return state, decision

        if self._detector.overflows(state, tokens):
            state, flushed = self._flush(state, Trigger.BATCH_FULL, turn.event_time)
            decision += flushed
        item = window_turn(
            turn,
            text,
            tokens,
            score,
            source_partition=where.partition,
            source_offset=where.offset,
            offload=self._offload,
        )
        state = self._deduper.remember(self._detector.add(state, item, score.cues), dedupe, turn.turn_index)
        state = state.count("forwarded")
        closing = self._detector.closing(state, turn, score)
        if state.pending_tokens > self.settings.max_batch_tokens:
            closing = Trigger.BATCH_FULL  # a single turn larger than a whole batch goes alone
        if closing is not None:
            state, flushed = self._flush(state, closing, turn.event_time)
            decision += flushed
        return state, decision

    def _judge(
        self, state: ConversationState, turn: ConversationTurn, text: str, tokens: int, score: Score
    ) -> tuple[_Skip | None, DedupeVerdict]:
        """Why the turn is skipped (None: it joins the window), and what dedupe found."""
        settings, scores = self.settings, score.as_scores()
        if self._detector.empty(text) and not turn.attachments:
            return _Skip(SkipStage.CHANGE_DETECTION, "empty", "no letter or digit", scores, score.cues), _NEW
        if self._detector.too_small(tokens, score):
            detail = f"{tokens} tokens < {settings.min_turn_tokens} and information {score.information}"
            return _Skip(SkipStage.CHANGE_DETECTION, "too_small", detail, scores, score.cues), _NEW
        dedupe = self._deduper.exact(state, text, tokens)
        if not dedupe.duplicate and score.score < settings.chit_chat_skip_threshold:
            detail = f"{score.priority_class.value} score {score.score} < {settings.chit_chat_skip_threshold}"
            return _Skip(SkipStage.PRIORITY, "chit_chat", detail, scores, score.cues), dedupe
        dedupe = self._deduper.near(state, dedupe, text, turn.user_id)
        if dedupe.vector is not None or dedupe.duplicate:
            scores["similarity"] = dedupe.similarity
        if dedupe.duplicate:
            detail = f"matches {dedupe.matched} (similarity {dedupe.similarity})"
            return _Skip(SkipStage.DEDUPE, dedupe.reason or "duplicate", detail, scores, score.cues), dedupe
        return None, dedupe

    def tick(self, state: ConversationState, now: datetime) -> tuple[ConversationState, Decision]:
        """Flushes the pending window when its idle or fact-flush clock has run out at event time `now`."""
        due = self._detector.due(state, now)
        return self._flush(state, due, now) if due is not None else (state, Decision())

    def flush(
        self, state: ConversationState, now: datetime, trigger: Trigger = Trigger.FLUSH
    ) -> tuple[ConversationState, Decision]:
        """Sends whatever the pending window holds (shutdown, end of a replay, a closed conversation)."""
        return self._flush(state, trigger, now)

    def abandon(self, state: ConversationState, reason: str) -> tuple[ConversationState, Decision]:
        """Ends a pending window that cannot be turned into a request: one skip record per turn, window emptied.

        The last resort when flushing the window raised: its turns stay accounted for (stage change_detection,
        reason `processing_error`, the error in the detail) and the conversation's later turns start afresh.
        """
        if not state.pending:
            return state, Decision()
        state, window, _cues = self._detector.take(state)
        skips = tuple(
            window_skip(state, turn, SkipStage.CHANGE_DETECTION, PROCESSING_ERROR, detail=reason[:500])
            for turn in window
        )
        return state.count(f"skipped:{PROCESSING_ERROR}"), Decision(skips=skips)

    def _flush(self, state: ConversationState, trigger: Trigger, now: datetime) -> tuple[ConversationState, Decision]:
        if not state.pending:
            return state, Decision()
        state, window, cues = self._detector.take(state)
        request = extraction_request(
            state,
            window,
            trigger=trigger.value,
            now=now,
            settings=self.settings,
            cues=cues,
            source_topic=self._source_topic,
        )
        return state.count("requests", f"trigger:{trigger.value}"), Decision(requests=(request,))


__all__ = ["PROCESSING_ERROR", "Decision", "TurnProcessor"]
