"""Change detection: each trigger flushes the pending window, and no window waits forever."""

from __future__ import annotations

from datetime import timedelta

from conftest import T0, TurnFactory

from processors.change_detection import Trigger
from processors.pipeline import TurnProcessor
from processors.stage_settings import ProcessorSettings
from processors.state import ConversationState
from schemas.events import ConversationTurn, ExtractionRequest, SkipRecord, SkipStage

FACTS = [
    "My sister Ana lives in Porto with her two kids.",
    "I started learning the cello in January.",
    "Our team moved the office to Leeds last year.",
    "I usually cycle 20 km to work on Tuesdays.",
    'My favourite book is "Dune" by Frank Herbert.',
    "We adopted a rescue dog called Biscuit in 2021.",
]


def feed(
    processor: TurnProcessor, turns: list[ConversationTurn], state: ConversationState | None = None
) -> tuple[ConversationState, list[ExtractionRequest], list[SkipRecord]]:
    requests: list[ExtractionRequest] = []
    skips: list[SkipRecord] = []
    for turn in turns:
        state, decision = processor.process(state, turn)
        requests.extend(decision.requests)
        skips.extend(decision.skips)
    assert state is not None
    return state, requests, skips


def test_facts_accumulate_instead_of_being_extracted_one_by_one(make_turn: TurnFactory) -> None:
    state, requests, skips = feed(TurnProcessor(), [make_turn(f) for f in FACTS])
    assert not requests and not skips
    assert [t.turn_index for t in state.pending] == list(range(len(FACTS)))
    assert state.window_opened_at == T0


def test_context_limit(make_turn: TurnFactory) -> None:
    processor = TurnProcessor(ProcessorSettings(context_usage_ratio=0.8))
    turns = [make_turn(FACTS[0], context_tokens_used=5_000, context_tokens_limit=8_000)]
    turns.append(make_turn(FACTS[1], context_tokens_used=6_400, context_tokens_limit=8_000))
    state, requests, _ = feed(processor, turns)
    (request,) = requests
    assert request.trigger == Trigger.CONTEXT_LIMIT
    assert (request.first_turn_index, request.last_turn_index) == (0, 1)
    assert not state.pending and state.last_extracted_turn == 1


def test_context_limit_flushes_even_when_the_turn_itself_is_skipped(make_turn: TurnFactory) -> None:
    fact = make_turn(FACTS[0])
    full = make_turn("ok thanks!", context_tokens_used=7_900, context_tokens_limit=8_000)
    _, requests, skips = feed(TurnProcessor(), [fact, full])
    assert [r.trigger for r in requests] == ["context_limit"]
    assert [s.turn_index for s in skips] == [1]


def test_token_threshold(make_turn: TurnFactory) -> None:
    processor = TurnProcessor(ProcessorSettings(token_threshold=100, max_batch_tokens=1000))
    state, requests, _ = feed(processor, [make_turn(f, token_count=40) for f in FACTS[:4]])
    (request,) = requests
    assert request.trigger == Trigger.TOKEN_THRESHOLD
    assert request.token_count == 120 and len(request.turns) == 3
    assert [t.turn_index for t in state.pending] == [3]


def test_turn_count(make_turn: TurnFactory) -> None:
    processor = TurnProcessor(ProcessorSettings(max_window_turns=4))
    _, requests, _ = feed(processor, [make_turn(f) for f in FACTS])
    (request,) = requests
    assert request.trigger == Trigger.TURN_COUNT
    assert len(request.turns) == 4


def test_batch_full_flushes_before_the_overflowing_turn(make_turn: TurnFactory) -> None:
    processor = TurnProcessor(ProcessorSettings(token_threshold=100, max_batch_tokens=100))
    state, requests, _ = feed(processor, [make_turn(f, token_count=40) for f in FACTS[:3]])
    (request,) = requests
    assert request.trigger == Trigger.BATCH_FULL
    assert request.token_count == 80 and request.token_count <= 100
    assert [t.turn_index for t in state.pending] == [2]
    _, more, _ = feed(processor, [make_turn(FACTS[3], token_count=500)], state)
    assert [r.trigger for r in more] == ["batch_full", "batch_full"]  # the giant turn goes alone
    assert [len(r.turns) for r in more] == [1, 1]


def test_high_priority_extracts_now_with_the_pending_window(make_turn: TurnFactory) -> None:
    turns = [make_turn(f) for f in FACTS[:2]]
    turns.append(make_turn("The nightly backup failed with exit code 2."))
    _, requests, _ = feed(TurnProcessor(), turns)
    (request,) = requests
    assert request.trigger == Trigger.HIGH_PRIORITY
    assert (request.priority_class, request.priority) == ("error", 1.0)
    assert [t.turn_index for t in request.turns] == [0, 1, 2]
    assert "error:exit_code" in request.cues and "fact:first_person" in request.cues


def test_idle_timeout_on_tick_and_on_the_next_turn(make_turn: TurnFactory) -> None:
    processor = TurnProcessor(ProcessorSettings(idle_timeout_s=600, fact_flush_interval_s=3600))
    state, _, _ = feed(processor, [make_turn(f) for f in FACTS[:2]])
    last = T0 + timedelta(seconds=30)
    assert processor.tick(state, last + timedelta(seconds=599))[1].empty
    idle_state, decision = processor.tick(state, last + timedelta(seconds=600))
    assert [r.trigger for r in decision.requests] == ["idle_timeout"]
    assert not idle_state.pending
    late = make_turn(FACTS[2], event_time=last + timedelta(hours=5))
    after, requests, _ = feed(processor, [late], state)
    assert [r.trigger for r in requests] == ["idle_timeout"]
    assert [t.turn_index for t in requests[0].turns] == [0, 1]
    assert [t.turn_index for t in after.pending] == [2]


def test_hourly_fact_flush_by_event_time(make_turn: TurnFactory) -> None:
    processor = TurnProcessor(ProcessorSettings(idle_timeout_s=1800, fact_flush_interval_s=3600))
    turns = [make_turn(FACTS[i % len(FACTS)] + f" ({i})", event_time=T0 + timedelta(minutes=20 * i)) for i in range(4)]
    state, requests, _ = feed(processor, turns[:3])
    assert not requests  # 40 minutes in, never idle for 30
    _, requests, _ = feed(processor, turns[3:], state)
    (request,) = requests
    assert request.trigger == Trigger.FACT_FLUSH
    assert [t.turn_index for t in request.turns] == [0, 1, 2]
    three_pending, _, _ = feed(processor, turns[:3])
    _, decision = processor.tick(three_pending, T0 + timedelta(minutes=60))
    assert [r.trigger for r in decision.requests] == ["fact_flush"]


def test_small_turns_go_only_when_they_say_nothing(make_turn: TurnFactory) -> None:
    _, requests, skips = feed(TurnProcessor(), [make_turn("ok!"), make_turn("I'm 32."), make_turn("  ...  ")])
    assert [(s.turn_index, s.stage, s.reason) for s in skips] == [
        (0, SkipStage.CHANGE_DETECTION, "too_small"),
        (2, SkipStage.CHANGE_DETECTION, "empty"),
    ]
    assert not requests


def test_flush_sends_whatever_is_pending(make_turn: TurnFactory) -> None:
    processor = TurnProcessor()
    state, _, _ = feed(processor, [make_turn(FACTS[0])])
    emptied, decision = processor.flush(state, T0)
    assert [r.trigger for r in decision.requests] == ["flush"]
    assert processor.flush(emptied, T0)[1].empty
