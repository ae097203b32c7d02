"""The rule-based extractor: deterministic, labelled, honest about its confidence."""

from __future__ import annotations

from extraction_support import request_of, turn

from processors.extraction.contract import Extractor, SourcePosition, build_batch
from processors.extraction.heuristic import HeuristicExtractor, sentences
from processors.extraction.memory_ids import memory_id
from schemas.events import ExtractionRequest, MemoryKind, Role

WINDOW = [
    ("I'm a data engineer at Acme. My main database is Postgres 16.", Role.USER),
    ("After some back and forth we decided to use Kafka for the ingestion layer.", Role.ASSISTANT),
    ("Next step: write the consumer and add a dead-letter topic.", Role.USER),
    ("Traceback: psycopg.OperationalError: connection refused on port 5432", Role.TOOL),
    ("Thanks, sounds good!", Role.USER),
]


def window_request() -> ExtractionRequest:
    return request_of([turn(i, text, role=role) for i, (text, role) in enumerate(WINDOW)])


def test_rules_find_facts_decisions_next_steps_and_errors() -> None:
    outcome = HeuristicExtractor().extract(window_request())
    found = {(m.kind, m.text) for m in outcome.memories}
    assert (MemoryKind.FACT, "I'm a data engineer at Acme.") in found
    assert (MemoryKind.FACT, "My main database is Postgres 16.") in found
    assert (MemoryKind.DECISION, "After some back and forth we decided to use Kafka for the ingestion layer.") in found
    assert (MemoryKind.NEXT_STEP, "Next step: write the consumer and add a dead-letter topic.") in found
    [error] = [m for m in outcome.memories if m.kind is MemoryKind.ERROR]
    assert error.subject == "OperationalError" and error.source_turn_ids == ("evt-3",)
    assert not any("Thanks" in m.text for m in outcome.memories)


def test_labelled_as_heuristic_and_never_as_a_model() -> None:
    request = window_request()
    outcome = HeuristicExtractor().extract(request)
    assert isinstance(HeuristicExtractor(), Extractor)
    assert (outcome.extractor, outcome.model, outcome.prompt_version, outcome.usage) == ("heuristic", None, None, ())
    for memory in outcome.memories:
        assert "extractor:heuristic" in memory.tags
        assert any(tag.startswith("rule:") for tag in memory.tags)
        assert memory.confidence < 0.7  # below the LLM acceptance threshold: rules are not that sure
        assert memory.memory_id == memory_id("acme", "u-1", memory.kind.value, memory.text)
    batch = build_batch(request, outcome, SourcePosition("memlane.extraction.requests.v1", 0, 7))
    assert (batch.extractor, batch.model, batch.extractor_version) == ("heuristic", None, "rules-3")


def test_deterministic() -> None:
    first = HeuristicExtractor().extract(window_request())
    second = HeuristicExtractor().extract(window_request())
    assert first == second and first.memories


def test_facts_come_only_from_users_and_errors_from_tools_too() -> None:
    request = request_of(
        [
            turn(0, "I prefer tabs over spaces in Go code.", role=Role.ASSISTANT),
            turn(1, "ValueError: invalid literal for int()", role=Role.TOOL),
            turn(2, "I prefer tabs over spaces in Go code.", role=Role.SYSTEM),
        ]
    )
    kinds = [m.kind for m in HeuristicExtractor().extract(request).memories]
    assert kinds == [MemoryKind.ERROR]


def test_sentences_split_and_cut() -> None:
    long = "word " * 200
    assert sentences("Short. This one is long enough!\nAnd a new line here") == [
        "This one is long enough!",
        "And a new line here",
    ]
    [cut] = sentences(long)
    assert len(cut) <= 404 and cut.endswith(" ...")


def test_caps_items_per_kind_within_a_turn_not_across_the_window() -> None:
    chatty = " ".join(f"We will ship feature number {i} soon." for i in range(10))
    turns = [turn(0, chatty)] + [turn(i, f"I moved to city number {i} last year.") for i in range(1, 31)]
    outcome = HeuristicExtractor(max_items_per_kind=3).extract(request_of(turns))
    flood = [m for m in outcome.memories if m.source_turn_indexes == (0,)]
    facts = [m for m in outcome.memories if m.source_turn_indexes != (0,)]
    assert len(flood) == 3  # one turn's flood is capped
    assert len(facts) == 30  # every later turn of a long window still yields its fact


def test_a_memory_names_who_said_it_but_its_id_does_not_depend_on_the_display_name() -> None:
    said = [turn(0, "I adopted a greyhound called Pixel.", speaker="Caroline")]
    renamed = [turn(0, "I adopted a greyhound called Pixel.", speaker="Caro")]
    [memory] = HeuristicExtractor().extract(request_of(said)).memories
    [again] = HeuristicExtractor().extract(request_of(renamed)).memories
    assert memory.text == "Caroline: I adopted a greyhound called Pixel."
    assert again.text == "Caro: I adopted a greyhound called Pixel."
    pixel = "I adopted a greyhound called Pixel."
    assert memory.memory_id == again.memory_id == memory_id("acme", "u-1", "fact", pixel)


def test_caps_items_per_kind_per_turn_not_per_window() -> None:
    turns = [turn(i, f"We will ship feature number {i} soon.") for i in range(10)]
    assert len(HeuristicExtractor(max_items_per_kind=3).extract(request_of(turns)).memories) == 10
    chatty = " ".join(f"We will ship feature number {i} soon." for i in range(10))
    assert len(HeuristicExtractor(max_items_per_kind=3).extract(request_of([turn(0, chatty)])).memories) == 3


def test_a_long_window_keeps_a_fact_for_every_informative_sentence() -> None:
    facts = [turn(i, f"I moved to city number {i} in May for my new job.") for i in range(30)]
    decision = turn(30, "We decided to go with Parquet for the raw readings.")
    memories = HeuristicExtractor().extract(request_of([*facts, decision])).memories
    assert {m.source_turn_indexes for m in memories} == {(i,) for i in range(31)}


def test_short_acknowledgements_are_not_memories() -> None:
    from processors.extraction.heuristic import sentences

    assert sentences("Agreed, Caroline. We decided to move the launch to Friday.") == [
        "We decided to move the launch to Friday."
    ]


def test_a_decision_does_not_crowd_out_the_facts_of_its_window() -> None:
    request = request_of(
        [
            turn(0, "We decided to move the launch to Friday."),
            turn(1, "I moved to Lisbon in May."),
            turn(2, "Thanks, sounds good!"),
        ]
    )
    found = {(m.kind, m.text) for m in HeuristicExtractor().extract(request).memories}
    assert found == {
        (MemoryKind.DECISION, "We decided to move the launch to Friday."),
        (MemoryKind.FACT, "I moved to Lisbon in May."),
    }


def test_each_memory_belongs_to_the_person_who_said_it() -> None:
    base = request_of([turn(0), turn(1)])
    turns = (
        base.turns[0].model_copy(update={"content": "I adopted a greyhound called Pixel.", "user_id": "caroline"}),
        base.turns[1].model_copy(update={"content": "My sister Maria lives in Porto.", "user_id": "melanie"}),
    )
    request = base.model_copy(update={"turns": turns, "user_id": "caroline"})
    by_text = {m.text: m for m in HeuristicExtractor().extract(request).memories}
    pixel, porto = by_text["I adopted a greyhound called Pixel."], by_text["My sister Maria lives in Porto."]
    assert (pixel.user_id, pixel.user_ids, pixel.source_turn_indexes) == ("caroline", ("caroline",), (0,))
    assert (porto.user_id, porto.user_ids, porto.source_turn_indexes) == ("melanie", ("melanie",), (1,))
    assert porto.memory_id == memory_id("acme", "melanie", "fact", porto.text)
