"""`memlane bench evidence-coverage --data PATH`: do the heuristic extractor's memories cover what matters?

LoCoMo's QA items name their evidence turns. The processors forward some of them (the pure `TurnProcessor`
with the configured stages, as in `memlane bench locomo-filter`); an evidence turn is covered when some memory
of its window names it among its source turns, and attributed when that memory belongs to the turn's speaker
(`Memory.user_id`). Goal: at least 90% of the forwarded evidence turns covered. Also reported: memories per
100 turns, the turns that yield none, and per window kind counts. In process, no broker: a few seconds.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

from processors.dedupe import HashingEmbedder
from processors.extraction.heuristic import HeuristicExtractor
from processors.pipeline import TurnProcessor
from schemas.errors import MemlaneError
from streams.bench.contract import BenchOptions, BenchReport
from streams.bench.locomo_eval import LocomoConversation, load_locomo, run_processor

GOAL_COVERAGE = 0.9


def coverage(conversations: list[LocomoConversation], options: BenchOptions) -> dict[str, Any]:
    """Evidence coverage of the heuristic extractor's memories over `conversations`."""
    settings = options.settings
    requests, _ = run_processor(conversations, TurnProcessor(settings.processors, embedder=HashingEmbedder()))
    extractor = HeuristicExtractor(max_items_per_kind=settings.extraction.max_items_per_kind)
    speaker = {(c.sample_id, t.turn_index): t.user_id for c in conversations for t in c.turns}
    forwarded = {(r.conversation_id, t.turn_index) for r in requests for t in r.turns}
    sources: dict[tuple[str, int], set[str]] = {}
    kinds: Counter[str] = Counter()
    memories = 0
    for request in requests:
        for memory in extractor.extract(request).memories:
            memories += 1
            kinds[memory.kind.value] += 1
            for index in memory.source_turn_indexes:
                sources.setdefault((request.conversation_id, index), set()).add(memory.user_id or "")
    evidence = {(c.sample_id, i) for c in conversations for qa in c.qa for i in qa.evidence}
    in_windows = evidence & forwarded
    covered = {key for key in in_windows if key in sources}
    attributed = {key for key in covered if speaker.get(key) in sources[key]}
    turns = sum(len(c.turns) for c in conversations)
    return {
        "conversations": len(conversations),
        "turns": turns,
        "requests": len(requests),
        "qa_evidence_turns": len(evidence),
        "evidence_forwarded": len(in_windows) / len(evidence) if evidence else 0.0,
        "evidence_covered": len(covered) / len(in_windows) if in_windows else 0.0,
        "evidence_attributed": len(attributed) / len(covered) if covered else 0.0,
        "memories": memories,
        "memories_per_100_turns": 100.0 * memories / turns if turns else 0.0,
        "forwarded_turns_without_memory": len(forwarded - set(sources)),
        "memories_by_kind": dict(kinds.most_common()),
    }


def run(options: BenchOptions) -> BenchReport:
    source = options.data_path("locomo/locomo_dev5.json")
    if not source.is_file():
        raise MemlaneError(f"no LoCoMo dev data at {source}: pass --data or set MEMLANE_DATA_DIR")
    conversations = load_locomo(source)
    rows = [{"conversation": c.sample_id, **_row(coverage([c], options))} for c in conversations]
    overall = coverage(conversations, options)
    summary = {
        **overall,
        "goal_evidence_covered": GOAL_COVERAGE,
        "meets_goal": overall["evidence_covered"] >= GOAL_COVERAGE,
    }
    return BenchReport(
        "evidence-coverage",
        columns=["conversation", "turns", "memories_per_100_turns", "evidence_forwarded", "evidence_covered"],
        rows=rows,
        summary=summary,
        title="heuristic extractor: forwarded QA-evidence turns that are the source of a memory",
        notes=["dev data (locomo_dev5): the processor defaults were tuned on it"],
    )


def _row(metrics: dict[str, Any]) -> dict[str, Any]:
    keys = ("turns", "memories_per_100_turns", "evidence_forwarded", "evidence_covered")
    return {key: metrics[key] for key in keys}


__all__ = ["GOAL_COVERAGE", "coverage", "run"]
