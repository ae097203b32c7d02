"""One batch of turns and ticks in, the outputs to deliver and the states to write out. Pure: no Kafka, no Faust.

For each turn message, in order:

1. decode it with the event codec; undecodable bytes, or a key that does not name the turn's conversation
   (`schemas.keys.conversation_key(tenant, conversation)`, or the bare conversation id older publishers
   used: either keeps one conversation on one partition), become a quarantine output and nothing else;
2. read the conversation's stored state (once per batch), keyed by tenant and conversation; a turn at or
   below the stored offset of its partition is a replay of a turn already applied: no output (they were
   delivered before the state was written);
3. if the pending window is due at the turn's event time, flush it at its deadline (`schedule`);
4. `TurnProcessor.process` the turn; its requests and skip records become outputs.

For each tick of a partition: every conversation the index reports silent long enough, and that got no
turn in this batch, has its window flushed at its deadline.

No exception raised while planning one conversation stops the batch: a turn whose processing fails is
quarantined with the error (the conversation's state stays as it was), and a tick that fails on a
conversation ends its pending window as skip records (reason `processing_error`), so those turns stay
accounted for and the broken window cannot fail again. `isolated` counts both.

The caller (`streams.processor_app.runtime`) delivers `outputs`, waits for every acknowledgement, and only
then writes `states`: a crash in between replays the batch from the old states into the same outputs.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace

import structlog

from processors.pipeline import Decision, TurnProcessor
from processors.state import ConversationState
from processors.tokens import turn_tokens
from schemas.codec import EventCodec
from schemas.errors import CodecError, ServiceUnavailableError, ValidationError
from schemas.events import ConversationTurn
from schemas.keys import conversation_key
from streams.kafka.headers import ErrorInfo
from streams.kafka.parking import Overflow
from streams.kafka.topic_catalogue import TopicNames
from streams.processor_app.envelope import StoredState
from streams.processor_app.outputs import STAGE, Output, decision_outputs, quarantine_output
from streams.processor_app.schedule import due_at

log = structlog.get_logger(__name__)


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
"""(state key, partition) -> the stored state, or None for a new conversation."""
DueReader = Callable[[int], Sequence[str]]
"""partition -> state keys of the conversations whose pending window a tick should flush now."""


def state_key(turn: ConversationTurn) -> str:
    """The key of a turn's conversation state: its tenant and its conversation."""
    return conversation_key(turn.tenant_id, turn.conversation_id)


def check_turn(turn: ConversationTurn, key: bytes | None, max_future_s: float) -> None:
    """Refuse a turn the processors must not apply (`ValidationError` names the reason).

    * its message key must name its conversation: the tenant-scoped key, or (older publishers) the bare
      conversation id; anything else could put one conversation on two partitions;
    * its event time may lie at most `max_future_s` after its publish time (a clock far ahead would hold
      its window open, and no later turn could be older than it). Both times are in the event, so a replay
      decides the same.
    """
    allowed = (state_key(turn).encode("utf-8"), turn.conversation_id.encode("utf-8"))
    if key not in allowed:
        raise ValidationError(
            f"message key {(key or b'')[:80]!r} does not name conversation {turn.conversation_id!r} of tenant "
            f"{turn.tenant_id!r} (expected tenant<US>conversation)",
            field="key",
        )
    ahead = (turn.event_time - turn.published_at).total_seconds()
    if ahead > max_future_s:
        raise ValidationError(
            f"event_time {turn.event_time.isoformat()} is {ahead:.0f} s after the turn was published "
            f"({turn.published_at.isoformat()}); at most {max_future_s:.0f} s is accepted",
            field="event_time",
        )


@dataclass
class BatchPlan:
    """What a batch produces, in the order to deliver it, and the states to write after delivery."""

    outputs: list[Output] = field(default_factory=list)
    states: dict[str, StoredState] = field(default_factory=dict)
    """New states by state key."""
    seen: set[str] = field(default_factory=set)
    """State keys of the conversations that had a turn applied in this batch."""
    turns_in: int = 0
    tokens_in: int = 0
    replayed: int = 0
    flushed_by_tick: int = 0
    isolated: int = 0
    """Turns quarantined and windows ended because planning their conversation raised."""


class BatchPlanner:
    """Plans batches with a `TurnProcessor`; holds no state between batches."""

    def __init__(
        self,
        processor: TurnProcessor,
        codec: EventCodec,
        topics: TopicNames,
        *,
        max_future_s: float = 86_400.0,
        value_limit: int | None = None,
        overflow: Overflow | None = None,
    ) -> None:
        self.processor = processor
        self.codec = codec
        self.topics = topics
        self.max_future_s = max_future_s
        self.value_limit = value_limit
        self.overflow = overflow

    def _outputs(self, decision: Decision) -> list[Output]:
        """A decision's outputs, refused (`ValidationError`) when one would not fit a message."""
        outputs = decision_outputs(decision, self.codec, self.topics)
        for output in outputs:
            if self.value_limit is not None and len(output.value) > self.value_limit:
                raise ValidationError(
                    f"a {output.role.value} of {len(output.value)} bytes would exceed the {self.value_limit}-byte "
                    "limit of a message (MEMLANE_MAX_MESSAGE_BYTES)",
                    field="size",
                )
        return outputs

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
            check_turn(turn, message.key, self.max_future_s)
        except (CodecError, ValidationError) as exc:
            plan.outputs.append(self._quarantine(message, exc))
            return
        key = state_key(turn)
        previous = stored(key, message.partition)
        if previous is not None and previous.applied(message.partition, message.offset):
            plan.replayed += 1
            return
        try:
            state, outputs = self._apply(previous.state if previous else None, turn, message)
        except ServiceUnavailableError:
            raise  # a dependency is down: the whole batch is retried, nothing is quarantined
        except Exception as exc:  # the stages refuse or fail on this turn: it alone goes to quarantine
            if not isinstance(exc, ValidationError):
                plan.isolated += 1
                log.error("processors.turn_failed", key=key, error_class=type(exc).__name__, error=str(exc)[:300])
            plan.outputs.append(self._quarantine(message, exc))
            return
        plan.outputs.extend(outputs)
        plan.states[key] = StoredState(state, message.partition, message.offset)
        plan.seen.add(key)
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
                outputs.extend(self._outputs(flushed))
        state, decision = self.processor.process(state, turn, message.partition, message.offset)
        outputs.extend(self._outputs(decision))
        return state, outputs

    def _tick(self, tick: Tick, plan: BatchPlan, stored: StateReader, due: DueReader) -> None:
        for key in due(tick.partition):
            if key in plan.seen:
                continue  # active in this very batch: not silent
            previous = stored(key, tick.partition)
            if previous is None:
                continue
            deadline = due_at(previous.state, self.processor.settings)
            if deadline is None:
                plan.states[key] = previous  # nothing pending: lets the index forget it
                continue
            try:
                state, flushed = self.processor.tick(previous.state, deadline)
                outputs = self._outputs(flushed)
            except ServiceUnavailableError:
                raise
            except Exception as exc:  # the window cannot be flushed: end it as skip records, keep going
                plan.isolated += 1
                log.error("processors.window_failed", key=key, error_class=type(exc).__name__, error=str(exc)[:300])
                state, abandoned = self.processor.abandon(previous.state, f"{type(exc).__name__}: {exc}")
                outputs = decision_outputs(abandoned, self.codec, self.topics)
            plan.outputs.extend(outputs)
            plan.states[key] = replace(previous, state=state)
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
        return quarantine_output(
            message.key, message.value, message.headers, info, limit=self.value_limit, overflow=self.overflow
        )


__all__ = ["BatchPlan", "BatchPlanner", "DueReader", "Item", "StateReader", "Tick", "TurnMessage"]
