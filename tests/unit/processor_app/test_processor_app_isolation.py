"""Hostile input at the processors: a clock far ahead, two tenants sharing conversation ids, a conversation
whose processing raises. Each is contained: quarantined or ended with a reason, the rest keeps flowing."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from processor_app_support import CODEC, T0, TOPICS, Table, conversation, message, planner, turn

from processors.pipeline import PROCESSING_ERROR, TurnProcessor
from processors.stage_settings import ProcessorSettings
from schemas.events import ExtractionRequest, SkipRecord
from schemas.keys import conversation_key
from streams.kafka.headers import ErrorInfo
from streams.processor_app.outputs import OutputRole
from streams.processor_app.planner import BatchPlanner, Tick
from streams.processor_app.schedule import deadline, later


def _requests(plan: object) -> list[ExtractionRequest]:
    return [CODEC.decode(o.value, ExtractionRequest) for o in plan.outputs if o.role is OutputRole.REQUEST]  # type: ignore[attr-defined]


def test_a_far_future_turn_is_quarantined_and_later_turns_flow() -> None:
    good = conversation(4)
    ahead = turn(
        4, "Booked the flight to Lisbon for next spring.", published_at=T0, event_time=T0 + timedelta(days=400)
    )
    late = turn(5, "My sister Maria lives in Porto.")
    plan = planner().plan(
        [*(message(t, o) for o, t in enumerate(good)), message(ahead, 4), message(late, 5)], Table().read, lambda _p: []
    )
    parked = [o for o in plan.outputs if o.role is OutputRole.QUARANTINE]
    assert len(parked) == 1
    info = ErrorInfo.from_headers(parked[0].headers)
    assert info is not None and info.offset == 4 and "after the turn was published" in info.message
    assert plan.turns_in == 5, "every other turn was applied"


def test_two_tenants_with_the_same_conversation_ids_never_share_state_or_requests() -> None:
    settings = ProcessorSettings(max_window_turns=3)
    acme = [turn(i, f"I keep {i + 2} bonsai trees on the balcony.", tenant_id="acme", user_id="ana") for i in range(3)]
    globex = [turn(i, f"We ship {i + 2} containers to Rotterdam.", tenant_id="globex", user_id="bo") for i in range(3)]
    messages = [message(t, o) for o, t in enumerate([*acme, *globex])]
    plan = planner(settings).plan(messages, Table().read, lambda _p: [])
    assert set(plan.states) == {conversation_key("acme", "conv-1"), conversation_key("globex", "conv-1")}
    requests = _requests(plan)
    assert sorted(r.tenant_id for r in requests) == ["acme", "globex"]
    assert len({r.request_id for r in requests}) == 2
    by_tenant = {r.tenant_id: r for r in requests}
    assert {t.user_id for t in by_tenant["globex"].turns} == {"bo"}
    skipped = [CODEC.decode(o.value, SkipRecord) for o in plan.outputs if o.role is OutputRole.SKIP]
    assert not [s for s in skipped if s.reason == "redelivered"], "globex's turns are not redeliveries of acme's"


class _Flaky(TurnProcessor):
    """Raises on every turn of one conversation, as a bug triggered by its data would."""

    def process(self, state, turn, source_partition=None, source_offset=None):  # type: ignore[no-untyped-def]
        if turn.conversation_id == "conv-bad":
            raise ArithmeticError("boom")
        return super().process(state, turn, source_partition, source_offset)


def test_an_exception_in_one_conversation_quarantines_its_turns_and_the_others_flow() -> None:
    bad = conversation(3, "conv-bad")
    good = conversation(6, "conv-good")
    p = BatchPlanner(_Flaky(ProcessorSettings(), source_topic=TOPICS.turns), CODEC, TOPICS)
    plan = p.plan([message(t, o) for o, t in enumerate([*bad, *good])], Table().read, lambda _p: [])
    parked = [ErrorInfo.from_headers(o.headers) for o in plan.outputs if o.role is OutputRole.QUARANTINE]
    assert [i.error_class for i in parked if i] == ["ArithmeticError"] * 3
    assert plan.isolated == 3 and plan.turns_in == 6
    assert set(plan.states) == {conversation_key("acme", "conv-good")}


class _BrokenTick(TurnProcessor):
    def tick(self, state, now):  # type: ignore[no-untyped-def]
        raise OverflowError("date value out of range")


def test_a_window_that_cannot_be_flushed_ends_as_skip_records_with_the_reason() -> None:
    table = Table()
    p = BatchPlanner(_BrokenTick(ProcessorSettings(idle_timeout_s=60), source_topic=TOPICS.turns), CODEC, TOPICS)
    first = p.plan([message(t, o) for o, t in enumerate(conversation(3))], table.read, lambda _p: [])
    table.write(first.states)
    (stored,) = first.states.values()
    pending = [t.turn_index for t in stored.state.pending]
    assert pending
    tick = p.plan([Tick(0)], table.read, lambda _p: [conversation_key("acme", "conv-1")])
    skips = [CODEC.decode(o.value, SkipRecord) for o in tick.outputs if o.role is OutputRole.SKIP]
    assert [s.turn_index for s in skips] == pending and {s.reason for s in skips} == {PROCESSING_ERROR}
    assert "OverflowError" in skips[0].detail and tick.isolated == 1
    assert not tick.states[conversation_key("acme", "conv-1")].state.pending


def test_deadlines_saturate_instead_of_overflowing() -> None:
    edge = datetime(9999, 12, 31, 23, 59, tzinfo=UTC)
    assert later(edge, 3600) == datetime.max.replace(tzinfo=UTC)
    assert deadline(edge, edge, ProcessorSettings()) == datetime.max.replace(tzinfo=UTC)
