"""Batch planning: the pure stages' outputs, replays after a crash at any point, quarantine, due windows, ticks."""

from __future__ import annotations

import itertools
import random
from datetime import timedelta

from processor_app_support import CODEC, TOPICS, Table, conversation, message, planner, turn

from processors.pipeline import TurnProcessor
from processors.stage_settings import ProcessorSettings
from schemas.events import ExtractionRequest, SkipRecord
from schemas.keys import conversation_key
from streams.kafka.headers import ErrorInfo
from streams.processor_app.outputs import OutputRole
from streams.processor_app.planner import BatchPlan, Tick, TurnMessage


def key(conversation: str, tenant: str = "acme") -> str:
    """The state key of a test conversation."""
    return conversation_key(tenant, conversation)


def _never_due(_partition: int) -> list[str]:
    return []


def _values(plan: BatchPlan) -> list[bytes]:
    return [o.value for o in plan.outputs]


def _run(messages: list[TurnMessage], splits: list[int], table: Table) -> list[bytes]:
    """Plans `messages` in batches cut at `splits`, writing states after each (as the runtime does)."""
    values: list[bytes] = []
    bounds = [0, *splits, len(messages)]
    p = planner()
    for start, end in itertools.pairwise(bounds):
        plan = p.plan(messages[start:end], table.read, _never_due)
        values += _values(plan)
        table.write(plan.states)
    return values


def test_turns_become_exactly_the_pure_processors_outputs() -> None:
    turns = conversation(30)
    processor, state, expected = TurnProcessor(source_topic=TOPICS.turns), None, []
    for offset, t in enumerate(turns):
        state, decision = processor.process(state, t, 0, offset)
        expected += [CODEC.encode(r) for r in decision.requests] + [CODEC.encode(s) for s in decision.skips]
    table = Table()
    plan = planner().plan([message(t, offset) for offset, t in enumerate(turns)], table.read, _never_due)
    assert _values(plan) == expected and expected
    assert plan.turns_in == 30 and plan.replayed == 0 and plan.seen == {key("conv-1")}
    stored = plan.states[key("conv-1")]
    assert (stored.partition, stored.offset) == (0, 29) and stored.state == state
    assert table.reads == 1, "the state is read once per conversation and batch"


def test_any_batching_and_any_crash_point_yield_the_same_records() -> None:
    turns = conversation(40) + conversation(25, "conv-2")
    messages = [message(t, offset) for offset, t in enumerate(turns)]
    reference = _run(messages, [], Table())
    rng = random.Random(3)
    for _ in range(5):
        cuts = sorted(rng.sample(range(1, len(messages)), 4))
        assert _run(messages, cuts, Table()) == reference

    # crash after delivering batch 2 but before writing its states: the replay re-emits the same bytes
    table = Table()
    first = _run(messages[:20], [], table)
    p = planner()
    delivered = _values(p.plan(messages[20:45], table.read, _never_due))  # states never written
    replayed = p.plan(messages[20:], table.read, _never_due)
    assert _values(replayed)[: len(delivered)] == delivered
    assert first + _values(replayed) == reference


def test_turns_already_applied_are_recognised_by_offset_and_emit_nothing() -> None:
    turns = conversation(20)
    messages = [message(t, offset) for offset, t in enumerate(turns)]
    table = Table()
    _run(messages[:12], [], table)
    # crash after the state write, before the offsets were committed: 0..11 come again, then 12..19
    plan = planner().plan(messages, table.read, _never_due)
    assert plan.replayed == 12 and plan.turns_in == 8
    assert _values(plan) == _run(messages, [], Table())[len(_run(messages[:12], [], Table())) :]


def test_a_duplicate_event_at_a_new_offset_gets_the_redelivered_skip() -> None:
    turns = conversation(5)
    messages = [message(t, offset) for offset, t in enumerate(turns)] + [message(turns[3], 5)]
    plan = planner().plan(messages, Table().read, _never_due)
    last = CODEC.decode(plan.outputs[-1].value, SkipRecord)
    assert (last.turn_index, last.reason, last.source_offset) == (3, "redelivered", 5)


def test_poison_and_foreign_keys_go_to_quarantine_with_error_headers_and_the_batch_goes_on() -> None:
    turns = conversation(6)
    good = [message(t, offset) for offset, t in enumerate(turns)]
    garbage = TurnMessage(TOPICS.turns, 2, 3, b"conv-1", b"not avro", (("trace", b"abc"),))
    stray = message(turn(99, "I moved to Porto in 2020."), 4, partition=2, key=b"someone-else")
    plan = planner().plan([*good[:3], garbage, stray, *good[3:]], Table().read, _never_due)
    parked = [o for o in plan.outputs if o.role is OutputRole.QUARANTINE]
    assert [o.value for o in parked] == [b"not avro", stray.value]
    first, second = (ErrorInfo.from_headers(o.headers) for o in parked)
    assert first is not None and second is not None
    assert (first.stage, first.error_class, first.topic, first.partition, first.offset) == (
        "processors",
        "MalformedMessageError",
        TOPICS.turns,
        2,
        3,
    )
    assert second.error_class == "ValidationError" and "does not name conversation" in second.message
    assert ("trace", b"abc") in parked[0].headers, "the message's own headers travel with it"
    assert plan.turns_in == 6 and plan.states[key("conv-1")].offset == 5


def test_a_due_window_is_flushed_at_its_deadline_before_the_late_turn() -> None:
    settings = ProcessorSettings(idle_timeout_s=600)
    early = conversation(3)
    late = turn(
        3, "I moved to Porto in 2020, best decision ever.", event_time=early[-1].event_time + timedelta(hours=5)
    )
    plan = planner(settings).plan(
        [message(t, offset) for offset, t in enumerate([*early, late])], Table().read, _never_due
    )
    requests = [CODEC.decode(o.value, ExtractionRequest) for o in plan.outputs if o.role is OutputRole.REQUEST]
    flushed = requests[0]
    assert flushed.trigger == "idle_timeout" and flushed.last_turn_index <= 2
    assert flushed.created_at == early[-1].event_time + timedelta(seconds=600)


def test_ticks_flush_silent_windows_at_their_deadline_but_not_active_ones() -> None:
    settings = ProcessorSettings(idle_timeout_s=600)
    table = Table()
    p = planner(settings)
    a, b = conversation(4, "conv-a"), conversation(4, "conv-b")
    first = p.plan([message(t, o) for o, t in enumerate(a + b)], table.read, _never_due)
    table.write(first.states)
    assert all(s.state.pending for s in first.states.values())

    later_b = turn(4, "I have two cats and a dog.", "conv-b")
    due = [key("conv-a"), key("conv-b"), key("conv-gone")]
    tick = p.plan([message(later_b, 8), Tick(0)], table.read, lambda _p: due)
    requests = [CODEC.decode(o.value, ExtractionRequest) for o in tick.outputs if o.role is OutputRole.REQUEST]
    assert [r.conversation_id for r in requests] == ["conv-a"]
    assert requests[0].created_at == a[-1].event_time + timedelta(seconds=600)
    a_key, b_key = key("conv-a"), key("conv-b")
    assert not tick.states[a_key].state.pending and tick.states[a_key].offset == first.states[a_key].offset
    assert tick.states[b_key].state.pending and tick.flushed_by_tick == 1
