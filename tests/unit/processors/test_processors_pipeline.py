"""TurnProcessor end to end: every turn accounted for once, deterministic output, routes, redeliveries."""

from __future__ import annotations

import random
from collections import Counter
from datetime import timedelta

import pytest
from conftest import T0, TurnFactory, WordEmbedder

from processors.pipeline import Decision, TurnProcessor
from processors.priority import PriorityClass, Score
from processors.request_ids import request_id, skip_id
from processors.stage_settings import ProcessorSettings
from schemas.errors import ValidationError
from schemas.events import Attachment, ConversationTurn, Role, SkipStage

POOL = [
    "Hey! How are you?",
    "ok",
    "Thanks so much!",
    "Wow, that's awesome, congrats!",
    "I'm 32.",
    "My daughter starts school in September.",
    "We decided to move the launch to Thursday.",
    "TODO: send the contract to Lena",
    "The build failed with exit code 1 on the arm64 runner.",
    "I went hiking near Sintra with my brother last weekend.",
    "They were awestruck and humbled.",
    "Next step: I'll draft the proposal and share it tomorrow.",
    "lol",
    "🎉",
    "   ",
    "I just adopted a puppy named Kyle, he is 3 months old.",
]


def random_conversation(rng: random.Random, conversation: str, n: int) -> list[ConversationTurn]:
    """Turns from a small pool (so duplicates happen), random gaps, speakers, roles and context usage."""
    turns, at = [], T0
    for index in range(n):
        at += timedelta(seconds=rng.choice([5, 30, 120, 900, 2400, 7200]))
        used = rng.choice([None, None, 1_000, 7_000])
        role = rng.choice([Role.USER, Role.USER, Role.ASSISTANT, Role.TOOL])
        text = rng.choice(POOL) + rng.choice(["", "", f" ({rng.randint(1, 5)})"])
        attachments = (Attachment(kind="image", caption="a photo of a dog"),) if rng.random() < 0.1 else ()
        turns.append(
            ConversationTurn(
                event_id=f"{conversation}-{index}",
                conversation_id=conversation,
                turn_index=index,
                tenant_id="acme",
                user_id=rng.choice(["alice", "bob", "carol"]),
                platform="test",
                role=role,
                speaker=rng.choice(["alice", "bob", "carol", None]),
                tool_name="bash" if role is Role.TOOL else None,
                content=text,
                token_count=rng.choice([0, 0, rng.randint(1, 900)]),
                context_tokens_used=used,
                context_tokens_limit=8_000 if used is not None else None,
                attachments=attachments,
                event_time=at,
            )
        )
    return turns


def run(processor: TurnProcessor, turns: list[ConversationTurn], rng: random.Random | None = None) -> Decision:
    state, out = None, Decision()
    for offset, turn in enumerate(turns):
        if rng is not None and state is not None and rng.random() < 0.2:
            state, ticked = processor.tick(state, turn.event_time - timedelta(seconds=1))
            out += ticked
        state, decision = processor.process(state, turn, 3, offset)
        out += decision
    if state is not None:
        state, final = processor.flush(state, turns[-1].event_time)
        out += final
        assert not state.pending
    return out


@pytest.mark.parametrize("seed", range(25))
def test_every_turn_ends_in_exactly_one_request_or_one_skip(seed: int) -> None:
    rng = random.Random(seed)
    settings = ProcessorSettings(
        token_threshold=rng.choice([50, 400, 1500]),
        max_batch_tokens=rng.choice([1500, 4000]),
        max_window_turns=rng.choice([3, 10, 40]),
        min_turn_tokens=rng.choice([0, 6, 12]),
    )
    turns = random_conversation(rng, f"conv-{seed}", rng.randint(1, 80))
    out = run(TurnProcessor(settings, embedder=WordEmbedder()), turns, rng)
    placed = Counter(t.turn_index for r in out.requests for t in r.turns)
    placed.update(s.turn_index for s in out.skips)
    assert placed == Counter(t.turn_index for t in turns)
    for request in out.requests:
        indexes = [t.turn_index for t in request.turns]
        assert indexes == sorted(indexes)
        assert (request.first_turn_index, request.last_turn_index) == (indexes[0], indexes[-1])
        assert request.token_count == sum(t.token_count for t in request.turns)
        assert request.token_count <= settings.max_batch_tokens or len(request.turns) == 1
        assert request.request_id == request_id(request.tenant_id, request.conversation_id, indexes[0], indexes[-1])
    assert len({r.request_id for r in out.requests}) == len(out.requests)


def test_same_input_twice_gives_identical_requests_and_skips() -> None:
    turns = random_conversation(random.Random(7), "conv-det", 60)
    first = run(TurnProcessor(embedder=WordEmbedder()), turns)
    second = run(TurnProcessor(embedder=WordEmbedder()), turns)
    assert first.requests and first.skips
    assert [r.model_dump() for r in first.requests] == [r.model_dump() for r in second.requests]
    assert [s.model_dump() for s in first.skips] == [s.model_dump() for s in second.skips]


def test_ids_depend_on_tenant_conversation_and_turn_range_only() -> None:
    assert request_id("t", "c", 0, 4) == request_id("t", "c", 0, 4)
    assert len({request_id("t", "c", 0, 4), request_id("t", "c", 0, 5), request_id("t", "d", 0, 4)}) == 3
    assert request_id("acme", "c", 0, 4) != request_id("globex", "c", 0, 4)
    assert skip_id("t", "c", 3, "chit_chat") != skip_id("t", "c", 3, "redelivered")
    assert skip_id("acme", "c", 3, "chit_chat") != skip_id("globex", "c", 3, "chit_chat")
    with pytest.raises(ValueError, match="empty turn range"):
        request_id("t", "c", 5, 4)


def test_skip_records_say_which_stage_and_why(make_turn: TurnFactory) -> None:
    processor = TurnProcessor()
    state, decision = processor.process(None, make_turn("Wow, that's amazing, congrats on the new job!"), 2, 41)
    (skip,) = decision.skips
    assert (skip.stage, skip.reason) == (SkipStage.PRIORITY, "chit_chat")
    assert skip.scores == {"priority": 0.1, "information": 0.0}
    assert "chit_chat:praise" in skip.cues and "score 0.1 < 0.2" in skip.detail
    assert (skip.source_partition, skip.source_offset, skip.turn_index) == (2, 41, 0)
    assert skip.skip_id == skip_id("acme", "conv-1", 0, "chit_chat")
    assert skip.recorded_at == skip.event_time
    assert state.counters == {"turns_seen": 1, "skipped:chit_chat": 1}


def test_redelivered_turn_is_recorded_not_reprocessed(make_turn: TurnFactory) -> None:
    processor = TurnProcessor()
    turn = make_turn("The deploy failed with exit code 3.")
    state, first = processor.process(None, turn)
    assert len(first.requests) == 1
    again, second = processor.process(state, turn)
    assert not second.requests
    (skip,) = second.skips
    assert (skip.stage, skip.reason) == (SkipStage.CHANGE_DETECTION, "redelivered")
    assert again.counters["skipped:redelivered"] == 1


def test_window_turns_keep_captions_scores_and_lineage(make_turn: TurnFactory) -> None:
    photo = Attachment(kind="image", caption="a photo of a cake with candles")
    turn = make_turn("We decided to bake it ourselves!", attachments=(photo,), speaker=None)
    _, decision = TurnProcessor(source_topic="memlane.turns.v1").process(None, turn, 5, 99)
    (request,) = decision.requests
    (window_turn,) = request.turns
    assert window_turn.content == "We decided to bake it ourselves!\n[image: a photo of a cake with candles]"
    assert (window_turn.priority_class, window_turn.speaker) == ("decision", "alice")
    assert (window_turn.source_partition, window_turn.source_offset) == (5, 99)
    assert request.source_topic == "memlane.turns.v1"
    assert request.created_at == turn.event_time


@pytest.mark.parametrize(
    ("speakers", "texts", "tokens", "route"),
    [
        (["alice", "bot"], ["My cat is called Miso.", "Noted, Miso it is."], 20, "fast"),
        (["alice", "bob", "carol"], ["I live in Oslo.", "I live in Bergen.", "I live in Tromsø."], 20, "complex"),
        (["alice", "alice"], ["We decided on React.", "We agreed to drop IE11."], 20, "complex"),
        (["alice"], ["My whole design doc, pasted here."], 3500, "complex"),
    ],
)
def test_route(make_turn: TurnFactory, speakers: list[str], texts: list[str], tokens: int, route: str) -> None:
    processor = TurnProcessor(ProcessorSettings(extract_now_threshold=1.0, weights={"error": 1.0}))
    state, out = None, Decision()
    for speaker, text in zip(speakers, texts, strict=True):
        state, decision = processor.process(state, make_turn(text, speaker=speaker, token_count=tokens))
        out += decision
    assert state is not None
    out += processor.flush(state, T0)[1]
    assert [r.route for r in out.requests] == [route]


class AlwaysNextStep:
    """A stand-in for a small classifier model behind the `Scorer` interface."""

    def score(self, text: str, *, role: Role = Role.USER, tool_name: str | None = None) -> Score:
        return Score(PriorityClass.NEXT_STEP, 0.8, ("model:next_step",))


def test_the_scorer_can_be_replaced(make_turn: TurnFactory) -> None:
    _, decision = TurnProcessor(scorer=AlwaysNextStep()).process(None, make_turn("whatever the text is"))
    (request,) = decision.requests
    assert (request.trigger, request.priority_class, request.cues) == (
        "high_priority",
        "next_step",
        ("model:next_step",),
    )


def test_a_state_serves_only_its_own_conversation(make_turn: TurnFactory) -> None:
    state, _ = TurnProcessor().process(None, make_turn("I'm 32."))
    with pytest.raises(ValidationError, match="conv-2"):
        TurnProcessor().process(state, make_turn("I'm 33.", conversation_id="conv-2"))
