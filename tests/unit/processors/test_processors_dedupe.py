"""Dedupe: exact and near duplicates against recent content and existing memories, never for tiny turns."""

from __future__ import annotations

import numpy as np
from conftest import TurnFactory, WordEmbedder

from processors.dedupe import Deduper, HashingEmbedder, RecentMemoryLookup, content_hash, normalise_text
from processors.pipeline import TurnProcessor
from processors.stage_settings import ProcessorSettings
from processors.state import ConversationState
from schemas.events import SkipStage

FACT = "My brother Tom works as a nurse in Leeds."


def test_normalisation_ignores_case_punctuation_and_spacing() -> None:
    assert normalise_text("  My brother TOM works,  as a nurse!! ") == "my brother tom works as a nurse"
    assert content_hash(FACT) == content_hash("my brother tom works as a nurse in leeds")
    assert content_hash(FACT) != content_hash("My brother Tom works as a nurse in York.")


def test_exact_duplicate_is_skipped_with_the_turn_it_repeats(make_turn: TurnFactory) -> None:
    processor = TurnProcessor()
    state, first = processor.process(None, make_turn(FACT))
    assert not first.skips
    state, second = processor.process(state, make_turn("my brother tom works as a nurse in leeds"))
    (skip,) = second.skips
    assert (skip.stage, skip.reason) == (SkipStage.DEDUPE, "exact_duplicate")
    assert skip.scores["similarity"] == 1.0
    assert "turn:0" in skip.detail
    assert skip.cues  # the priority cues travel with the record


def test_near_duplicate_of_recent_content(make_turn: TurnFactory) -> None:
    processor = TurnProcessor(embedder=WordEmbedder())
    state, _ = processor.process(None, make_turn(FACT))
    state, near = processor.process(state, make_turn("My brother Tom works as a nurse in Leeds, by the way."))
    (skip,) = near.skips
    assert skip.reason == "near_duplicate"
    assert skip.scores["similarity"] >= 0.85
    assert "turn:0" in skip.detail
    state, other = processor.process(state, make_turn("Our landlord raised the rent by 200 euros in March."))
    assert not other.skips
    assert state.counters["forwarded"] == 2


def test_near_duplicate_threshold_is_configurable(make_turn: TurnFactory) -> None:
    strict = TurnProcessor(ProcessorSettings(near_duplicate_threshold=0.99), embedder=WordEmbedder())
    state, _ = strict.process(None, make_turn(FACT))
    _, near = strict.process(state, make_turn("My brother Tom works as a nurse in Leeds, by the way."))
    assert not near.skips


def test_near_duplicate_of_an_existing_memory(make_turn: TurnFactory) -> None:
    embedder = WordEmbedder()
    memories = RecentMemoryLookup()
    memories.add("acme", "alice", "mem-42", embedder.embed(["my brother tom works as a nurse in leeds"])[0])
    memories.add("acme", "bob", "mem-43", embedder.embed(["our landlord raised the rent by 200 euros"])[0])
    processor = TurnProcessor(embedder=embedder, memories=memories)
    state, decision = processor.process(None, make_turn(FACT))
    (skip,) = decision.skips
    assert (skip.reason, skip.stage) == ("near_duplicate", SkipStage.DEDUPE)
    assert "memory:mem-42" in skip.detail
    _, other = processor.process(state, make_turn("Our landlord raised the rent by 200 euros in March."))
    assert not other.skips  # bob's memory is not alice's


def test_short_turns_are_never_deduplicated(make_turn: TurnFactory) -> None:
    processor = TurnProcessor(ProcessorSettings(min_turn_tokens=0), embedder=WordEmbedder())
    state, _ = processor.process(None, make_turn("Kyle."))
    _, again = processor.process(state, make_turn("Kyle."))
    assert not again.skips


def test_small_talk_is_not_embedded(make_turn: TurnFactory) -> None:
    embedder = WordEmbedder()
    processor = TurnProcessor(embedder=embedder)
    state, _ = processor.process(None, make_turn("Wow, that's awesome, congrats!"))
    assert embedder.calls == 0
    processor.process(state, make_turn(FACT))
    assert embedder.calls == 1


def test_hashing_embedder_rows_are_unit_vectors_and_stable() -> None:
    embedder = HashingEmbedder(dim=128)
    rows = embedder.embed([FACT, FACT.upper(), "Completely unrelated words about rockets", ""])
    assert rows.shape == (4, 128)
    assert np.allclose(np.linalg.norm(rows[:3], axis=1), 1.0, atol=1e-6)
    assert float(rows[0] @ rows[1]) > 0.999
    assert float(rows[0] @ rows[2]) < 0.5
    assert np.array_equal(rows[0], HashingEmbedder(dim=128).embed([FACT])[0])


def test_remember_keeps_the_most_recent(make_turn: TurnFactory) -> None:
    deduper = Deduper(ProcessorSettings(recent_hashes=2), embedder=None)
    state = ConversationState.for_turn(make_turn())
    for index, text in enumerate(("alpha beta gamma delta", "epsilon zeta eta theta", "iota kappa lambda mu")):
        state = deduper.remember(state, deduper.exact(state, text, tokens=10), index)
    assert [i for _, i in state.recent_hashes] == [1, 2]
    assert not deduper.exact(state, "alpha beta gamma delta", tokens=10).duplicate
    assert deduper.exact(state, "iota kappa lambda mu", tokens=10).duplicate
