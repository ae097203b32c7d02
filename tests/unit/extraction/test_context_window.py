"""The keyword-search context a memory carries: the turns before its source turns, from its request's window."""

from __future__ import annotations

import copy
from datetime import UTC, datetime

from extraction_support import request_of, turn

from processors.extraction.context_window import context_lines, turn_line, with_context
from processors.extraction.contract import SourcePosition, build_batch
from processors.extraction.heuristic import HeuristicExtractor
from schemas.catalogue import HISTORY_DIR, load_schema_dir
from schemas.codec import SingleObjectCodec, to_avro_dict
from schemas.events import BlobRef, Memory, MemoryBatch, MemoryKind, Role

T = datetime(2024, 5, 1, tzinfo=UTC)


def window() -> list:
    return [
        turn(0, "Morning! How was the weekend?", speaker="Ana"),
        turn(1, "Great, I went to the LGBTQ support group again.", speaker="Ben"),
        turn(2, "That sounds powerful. How did it feel?", speaker="Ana"),
        turn(3, "It felt accepting. I'm going to keep going every week.", speaker="Ben"),
    ]


def memory(text: str, *indexes: int, context: str | None = None) -> Memory:
    return Memory(
        memory_id=f"m-{text[:8]}",
        kind=MemoryKind.FACT,
        text=text,
        confidence=0.9,
        source_turn_ids=tuple(f"evt-{i}" for i in indexes),
        event_time=T,
        context=context,
    )


def test_the_turns_just_before_the_source_turns_and_the_rest_of_the_source() -> None:
    turns = window()
    lines = context_lines(memory("Ben keeps going to a support group weekly", 3), turns)
    assert lines == [
        "Ben: Great, I went to the LGBTQ support group again.",
        "Ana: That sounds powerful. How did it feel?",
        "Ben: It felt accepting. I'm going to keep going every week.",
    ]
    # a memory that is its source turn's text does not repeat it; the first turn has nothing before it
    assert context_lines(memory("Morning! How was the weekend?", 0), turns) == []
    assert context_lines(memory("Ana asked", 2), turns, turns_before=1) == [
        "Ben: Great, I went to the LGBTQ support group again.",
        "Ana: That sounds powerful. How did it feel?",
    ]
    assert context_lines(memory("no source"), turns) == []


def test_bounded_keeping_the_nearest_turns() -> None:
    lines = context_lines(memory("Ben keeps going", 3), window(), max_chars=120)
    assert sum(len(line) + 1 for line in lines) <= 121
    assert lines[-1].startswith("Ben: It felt accepting")


def test_offloaded_turns_contribute_their_preview_and_roles_stand_in_for_speakers() -> None:
    ref = BlobRef(sha256="a" * 64, size_bytes=5000, media_type="text/plain", preview="stack trace of the crash")
    assert turn_line(turn(0, None, content_ref=ref, role=Role.TOOL)) == "tool: stack trace of the crash"
    assert turn_line(turn(0, "   ")) == ""


def test_build_batch_fills_every_memory_context_from_the_request() -> None:
    request = request_of(window())
    outcome = HeuristicExtractor().extract(request)
    batch = build_batch(request, outcome, SourcePosition("memlane.extraction.requests.v1", 0, 7))
    later = [m for m in batch.memories if m.source_turn_ids == ("evt-3",)]
    assert later and all("LGBTQ support group" in (m.context or "") for m in later)
    kept = with_context(request, [memory("given", 3, context="set by the extractor")])
    assert kept[0].context == "set by the extractor"


def test_context_travels_on_the_wire_and_batches_written_before_it_decode() -> None:
    request = request_of(window())
    batch = build_batch(request, HeuristicExtractor().extract(request), SourcePosition("t", 0, 7))
    codec = SingleObjectCodec()
    assert codec.decode(codec.encode(batch), MemoryBatch) == batch
    v2 = load_schema_dir(HISTORY_DIR / "v2")["memory_batch"]
    old = copy.deepcopy(to_avro_dict(batch))
    for item in old["memories"]:
        item.pop("context")
    decoded = codec.decode(SingleObjectCodec.encode_with(v2, old), MemoryBatch)
    assert [m.context for m in decoded.memories] == [None] * len(batch.memories)
    assert [m.text for m in decoded.memories] == [m.text for m in batch.memories]
