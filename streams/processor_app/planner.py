"""One batch of turns and ticks in, the outputs to deliver and the states to write out. Pure: no Kafka, no Faust.

For each turn message, in order:

1. decode it with the event codec; undecodable bytes, or a key that is not the turn's conversation id (the
   state is partitioned by that key), become a quarantine output and nothing else;
2. read the conversation's stored state (once per batch); a turn at or below the stored offset of its
   partition is a replay of a turn already applied: no output (they were delivered before the state was
   written);
3. if the pending window is due at the turn's event time, flush it at its deadline (`schedule`);
4. `TurnProcessor.process` the turn; its requests and skip records become outputs.

For each tick of a partition: every conversation the index reports silent long enough, and that got no
turn in this batch, has its window flushed at its deadline.

The caller (`streams.processor_app.runtime`) delivers `outputs`, waits for every acknowledgement, and only
then writes `states`: a crash in between replays the batch from the old states into the same outputs.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace

from processors.pipeline import TurnProcessor
from processors.state import ConversationState
from processors.tokens import turn_tokens
from schemas.codec import EventCodec
from schemas.errors import CodecError, ValidationError
from schemas.events import ConversationTurn
from streams.kafka.headers import ErrorInfo
from streams.kafka.topic_catalogue import TopicNames
from streams.processor_app.envelope import StoredState
from streams.processor_app.outputs import STAGE, Output, decision_outputs, quarantine_output
from streams.processor_app.schedule import due_at


@dataclass(frozen=True)
class TurnMessage:
    """A message read from the turns topic, still undecoded."""

    topic: str
    partition: int
    offset: int
    key: bytes | None
    value: bytes
    headers: tuple[tuple[str, bytes | str | None], ...] = ()


@dataclass(frozen=True)
class Tick:
    """A wall-clock tick for one partition of the turns topic."""

    partition: int


Item = TurnMessage | Tick
StateReader = Callable[[str, int], StoredState | None]
"""(conversation id, partition) -> the stored state, or None for a new conversation."""
DueReader = Callable[[int], Sequence[str]]
"""partition -> conversations whose pending window a tick should flush now."""


@dataclass
class BatchPlan:
    """What a batch produces, in the order to deliver it, and the states to write after delivery."""

    outputs: list[Output] = field(default_factory=list)
    states: dict[str, StoredState] = field(default_factory=dict)
    seen: set[str] = field(default_factory=set)
    """Conversations that had a turn applied in this batch."""
    turns_in: int = 0
    tokens_in: int = 0
    replayed: int = 0
    flushed_by_tick: int = 0


class BatchPlanner:
    """Plans batches with a `TurnProcessor`; holds no state between batches."""

    def __init__(self, processor: TurnProcessor, codec: EventCodec, topics: TopicNames) -> None:
        self.processor = processor
        self.codec = codec
        self.topics = topics

    def plan(self, items: Sequence[Item], read: StateReader, due: DueReader) -> BatchPlan:
        plan = BatchPlan()
        cache: dict[str, StoredState | None] = {}

        def stored(conversation: str, partition: int) -> StoredState | None:
            if conversation in plan.states:
                return plan.states[conversation]
            if conversation not in cache:
                cache[conversation] = read(conversation, partition)
            return cache[conversation]

        for item in items:
            if isinstance(item, Tick):
                self._tick(item, plan, stored, due)
            else:
                self._turn(item, plan, stored)
        return plan

    def _turn(self, message: TurnMessage, plan: BatchPlan, stored: StateReader) -> None:
        try:
            turn = self.codec.decode(message.value, ConversationTurn, message.topic)
            if message.key != turn.conversation_id.encode("utf-8"):
                raise ValidationError(
                    f"message key {message.key!r} is not the conversation id {turn.conversation_id!r} "
                    "(conversation state is partitioned by it)",
                    field="key",
                )
        except (CodecError, ValidationError) as exc:
            plan.outputs.append(self._quarantine(message, exc))
            return
        previous = stored(turn.conversation_id, message.partition)
        if previous is not None and previous.applied(message.partition, message.offset):
            plan.replayed += 1
            return
        try:
            state, outputs = self._apply(previous.state if previous else None, turn, message)
        except ValidationError as exc:  # the stages refuse the turn (e.g. invalid against its state)
            plan.outputs.append(self._quarantine(message, exc))
            return
        plan.outputs.extend(outputs)
        plan.states[turn.conversation_id] = StoredState(state, message.partition, message.offset)
        plan.seen.add(turn.conversation_id)
        plan.turns_in += 1
        plan.tokens_in += turn_tokens(turn)

    def _apply(
        self, state: ConversationState | None, turn: ConversationTurn, message: TurnMessage
    ) -> tuple[ConversationState, list[Output]]:
        outputs: list[Output] = []
        if state is not None:
            deadline = due_at(state, self.processor.settings)
            if deadline is not None and turn.event_time >= deadline:
                state, flushed = self.processor.tick(state, deadline)
                outputs.extend(decision_outputs(flushed, self.codec, self.topics))
        state, decision = self.processor.process(state, turn, message.partition, message.offset)
        outputs.extend(decision_outputs(decision, self.codec, self.topics))
        return state, outputs

    def _tick(self, tick: Tick, plan: BatchPlan, stored: StateReader, due: DueReader) -> None:
        for conversation in due(tick.partition):
            if conversation in plan.seen:
                continue  # active in this very batch: not silent
            previous = stored(conversation, tick.partition)
            if previous is None:
                continue
            deadline = due_at(previous.state, self.processor.settings)
            if deadline is None:
                plan.states[conversation] = previous  # nothing pending: lets the index forget it
                continue
            state, flushed = self.processor.tick(previous.state, deadline)
            plan.outputs.extend(decision_outputs(flushed, self.codec, self.topics))
            plan.states[conversation] = replace(previous, state=state)
            plan.flushed_by_tick += 1

    def _quarantine(self, message: TurnMessage, error: Exception) -> Output:
        info = ErrorInfo(
            stage=STAGE,
            error_class=type(error).__name__,
            message=str(error),
            topic=message.topic,
            partition=message.partition,
            offset=message.offset,
        )
        return quarantine_output(message.key, message.value, message.headers, info)


__all__ = ["BatchPlan", "BatchPlanner", "DueReader", "Item", "StateReader", "Tick", "TurnMessage"]
