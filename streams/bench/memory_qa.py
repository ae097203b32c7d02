"""`memlane bench memory-qa --data LOCOMO.json`: what the pipeline's memories are worth, end to end.

The conversations are published through the whole pipeline on the real broker (processors, the configured
extractor, the blob and memory sinks), and every LoCoMo question of categories 1-4 with evidence is asked
through memory search, filtered to its conversation (whose two participants are the only users in it). The
top k memories are scored without an LLM judge:

    evidence recall@k   the share of a question's evidence turns that are source turns of a retrieved memory
                        (lineage: `source_turn_indexes`, including the turns of versions merged into it)
    answer recall@k     the share of the gold answer's content words (normalised, stop words out) found in
                        the retrieved memories' text

Two baselines are computed in the same run, on the same embedder and search mode, each in a collection of
its own: every turn stored as a memory (what search over the raw conversation finds), and every turn
extracted by the same extractor with no filtering (what the processors' filter costs). Also memories per 100
turns and bytes of memory text per 100 turns, and the accounting verdict of the pipeline run.
"""

from __future__ import annotations

import json
import re
import statistics
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import bm25s.stopwords
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from processors.emitted import extraction_request, window_turn
from processors.extraction import Extractor, SourcePosition, build_batch
from processors.priority import PriorityClass, Score
from processors.stage_settings import ProcessorSettings
from processors.state import ConversationState
from processors.tokens import turn_text, turn_tokens
from schemas.events import ConversationTurn, Lineage, Memory, MemoryBatch, MemoryKind
from sinks.memory_store import MemoryStore, SearchFilters
from streams.bench.contract import BenchOptions, BenchReport
from streams.bench.locomo_eval import CATEGORIES, normalise_evidence
from streams.ingest.turn_files import InputFormat, load_turns
from streams.pipeline_run import clean_up, run_stages, start_run
from streams.settings import Settings
from streams.wiring.accounting import verify_deployment
from streams.wiring.broker import live_broker
from streams.wiring.stores import blob_store, embedder, memory_store
from streams.wiring.workers import extractor_for

TENANT = "memory-qa"
ASKED = (1, 2, 3, 4)
KS = (5, 10, 25)
WINDOW_TURNS = 8
GOAL_RATIO = 0.9
"""Evidence recall@10 through the pipeline should reach this share of the store-every-turn baseline."""
STOP_WORDS = frozenset(bm25s.stopwords.STOPWORDS_EN)
_WORDS = re.compile(r"[a-z0-9]+")


def content_words(text: str) -> set[str]:
    """Lower-cased words of `text` without stop words (how answers and memories are compared)."""
    return {word for word in _WORDS.findall(text.lower()) if word not in STOP_WORDS}


def questions(path: Path, turns: Sequence[ConversationTurn]) -> list[dict[str, Any]]:
    """LoCoMo questions of categories 1-4 with resolvable evidence: text, answer, category, evidence turns."""
    index = {(t.conversation_id, t.metadata.get("dia_id", "")): t.turn_index for t in turns}
    asked: list[dict[str, Any]] = []
    for sample in json.loads(path.read_text(encoding="utf-8")):
        conversation = str(sample["sample_id"])
        for item in sample.get("qa", ()):
            category = int(item.get("category", 0))
            evidence = sorted(
                {
                    index[(conversation, i)]
                    for i in normalise_evidence(item.get("evidence", []))
                    if (conversation, i) in index
                }
            )
            if category in ASKED and evidence:
                asked.append(
                    {
                        "conversation": conversation,
                        "question": str(item.get("question", "")),
                        "answer": str(item.get("answer", "")),
                        "category": CATEGORIES[category],
                        "evidence": evidence,
                    }
                )
    return asked


def turn_memories(turns: Sequence[ConversationTurn]) -> list[MemoryBatch]:
    """The store-every-turn baseline: one memory per turn (`speaker: text`), a batch per session."""
    sessions: dict[str, list[ConversationTurn]] = {}
    for turn in turns:
        sessions.setdefault(turn.session_id or turn.conversation_id, []).append(turn)
    return [
        MemoryBatch(
            batch_id=f"turns-{session}",
            request_id=f"turns-{session}",
            conversation_id=group[0].conversation_id,
            tenant_id=TENANT,
            user_id=group[0].user_id,
            extractor="every-turn",
            extractor_version="1",
            memories=tuple(
                Memory(
                    memory_id=f"turn:{turn.event_id}",
                    kind=MemoryKind.FACT,
                    text=f"{turn.speaker or turn.user_id}: {turn_text(turn)}",
                    user_id=turn.user_id,
                    user_ids=(turn.user_id,),
                    confidence=1.0,
                    source_turn_indexes=(turn.turn_index,),
                    event_time=turn.event_time,
                )
                for turn in group
            ),
            lineage=Lineage(
                source_topic="baseline",
                source_partition=0,
                source_offset=0,
                first_turn_index=group[0].turn_index,
                last_turn_index=group[-1].turn_index,
            ),
        )
        for session, group in sessions.items()
    ]


def extracted_unfiltered(turns: Sequence[ConversationTurn], extractor: Extractor) -> list[MemoryBatch]:
    """The extract-every-turn baseline: the extractor over every turn, in windows of `WINDOW_TURNS` per session."""
    settings, neutral = ProcessorSettings(), Score(PriorityClass.FACT, 0.5, ())
    sessions: dict[str, list[ConversationTurn]] = {}
    for turn in turns:
        sessions.setdefault(turn.session_id or turn.conversation_id, []).append(turn)
    batches = []
    for group in sessions.values():
        state = ConversationState(group[0].conversation_id, TENANT, group[0].user_id)
        for start in range(0, len(group), WINDOW_TURNS):
            chunk = [window_turn(t, turn_text(t), turn_tokens(t), neutral) for t in group[start : start + WINDOW_TURNS]]
            request = extraction_request(state, chunk, trigger="baseline", now=chunk[-1].event_time, settings=settings)
            outcome = extractor.extract(request)
            batches.append(build_batch(request, outcome, SourcePosition("baseline", 0, start)))
    return batches


def progress_bar(console: Console) -> Progress:
    return Progress(
        TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(), console=console
    )


def score(
    store: MemoryStore, asked: Sequence[dict[str, Any]], name: str, progress: Progress, *, tenant_id: str = TENANT
) -> list[dict[str, Any]]:
    """Evidence and answer recall@k of `store`'s memories (of `tenant_id`), per category and overall."""
    evidence: dict[str, dict[int, list[float]]] = {}
    answers: dict[str, dict[int, list[float]]] = {}
    task = progress.add_task(f"asking ({name})", total=len(asked))
    for item in asked:
        hits = store.search(
            tenant_id, item["question"], SearchFilters(conversation_id=item["conversation"]), limit=max(KS)
        )
        gold, wanted = set(item["evidence"]), content_words(item["answer"])
        for group in (item["category"], "all"):
            for k in KS:
                top = hits[:k]
                sources = {index for hit in top for index in hit.record.source_turn_indexes}
                words = set().union(*(content_words(hit.record.text) for hit in top)) if top else set()
                evidence.setdefault(group, {k2: [] for k2 in KS})[k].append(len(gold & sources) / len(gold))
                if wanted:
                    answers.setdefault(group, {k2: [] for k2 in KS})[k].append(len(wanted & words) / len(wanted))
        progress.advance(task)
    groups = [g for g in (*(CATEGORIES[c] for c in ASKED), "all") if g in evidence]
    return [
        {
            "method": name,
            "category": group,
            "questions": len(evidence[group][KS[0]]),
            **{f"evidence@{k}": statistics.mean(evidence[group][k]) for k in KS},
            **{f"answer@{k}": statistics.mean(answers.get(group, {}).get(k) or [float("nan")]) for k in KS},
        }
        for group in groups
    ]


def _index(store: MemoryStore, batches: Sequence[MemoryBatch]) -> None:
    for batch in batches:
        store.upsert(batch)
    store.flush()


def _overall(rows: Sequence[dict[str, Any]], method: str, key: str) -> float:
    return float(next(row[key] for row in rows if row["method"] == method and row["category"] == "all"))


def run(options: BenchOptions) -> BenchReport:
    """The pipeline's memories and two baselines, asked every LoCoMo question of categories 1-4."""
    path = options.data_path("locomo/locomo_dev5.json")
    console = Console(stderr=True)
    base = options.settings.model_copy(update={"tenant_id": TENANT})
    turns, _errors = load_turns(path, InputFormat.LOCOMO, tenant_id=TENANT)
    if options.quick:
        first = turns[0].conversation_id
        turns = [turn for turn in turns if turn.conversation_id == first]
    asked = [q for q in questions(path, turns) if q["conversation"] in {t.conversation_id for t in turns}]
    with live_broker(base) as live:
        settings, run_report, admin = start_run(live)
        try:
            rows, stats = _measure(settings, run_report, turns, asked, console)
        finally:
            clean_up(settings, admin)
    return _report(rows, stats, path, len(turns))


def _measure(
    settings: Settings,
    run_report: Any,
    turns: Sequence[ConversationTurn],
    asked: Sequence[dict[str, Any]],
    console: Console,
) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    console.print(f"pipeline over {len(turns)} turns (run {run_report.run_id})")
    run_stages(settings, turns, run_report)
    with blob_store(settings) as blobs, memory_store(settings) as store:
        accounting = verify_deployment(settings, store=store, blobs=blobs)
        stored = list(store.records(TENANT))
        with progress_bar(console) as progress:
            rows = score(store, asked, "pipeline", progress)
    shared = embedder(settings)
    extractor = extractor_for(settings)
    baselines: dict[str, Callable[[], list[MemoryBatch]]] = {
        "every turn stored": lambda: turn_memories(turns),
        "every turn extracted": lambda: extracted_unfiltered(turns, extractor),
    }
    sizes: dict[str, int] = {}
    for name, build in baselines.items():
        collection = settings.sinks.model_copy(update={"collection": name.replace(" ", "-")})
        with memory_store(settings.model_copy(update={"sinks": collection}), shared) as store:
            batches = build()
            _index(store, batches)
            sizes[name] = store.count(TENANT)
            with progress_bar(console) as progress:
                rows += score(store, asked, name, progress)
    extractor.close()
    stats = {
        "pipeline_memories": len(stored),
        "pipeline_memory_bytes": sum(len(record.text.encode()) for record in stored),
        "extractor": run_report.extractor,
        "accounting": accounting.verdict,
        "requests": run_report.requests,
        "tokens_forwarded": run_report.request_tokens,
        "turn_tokens": run_report.turn_tokens,
        "baseline_memories": sizes,
    }
    return rows, stats


def _report(rows: list[dict[str, Any]], stats: dict[str, Any], path: Path, n_turns: int) -> BenchReport:
    pipeline = _overall(rows, "pipeline", "evidence@10")
    baseline = _overall(rows, "every turn stored", "evidence@10")
    ratio = pipeline / baseline if baseline else float("nan")
    summary = {
        "evidence_recall_at_10": pipeline,
        "answer_recall_at_10": _overall(rows, "pipeline", "answer@10"),
        "memories_per_100_turns": 100.0 * stats["pipeline_memories"] / n_turns,
        "memory_bytes_per_100_turns": 100.0 * stats["pipeline_memory_bytes"] / n_turns,
        "baseline_turns_evidence_recall_at_10": baseline,
        "baseline_turns_answer_recall_at_10": _overall(rows, "every turn stored", "answer@10"),
        "unfiltered_evidence_recall_at_10": _overall(rows, "every turn extracted", "evidence@10"),
        "unfiltered_answer_recall_at_10": _overall(rows, "every turn extracted", "answer@10"),
        "evidence_ratio_to_baseline": ratio,
        "goal_ratio": GOAL_RATIO,
        "meets_goal": ratio >= GOAL_RATIO,
        "token_fraction_forwarded": stats["tokens_forwarded"] / stats["turn_tokens"] if stats["turn_tokens"] else 0.0,
        "extractor": stats["extractor"],
        "accounting": stats["accounting"],
        "turns": n_turns,
        "questions": int(next(r["questions"] for r in rows if r["method"] == "pipeline" and r["category"] == "all")),
        "baseline_memories": stats["baseline_memories"],
        "data": str(path),
    }
    notes = [
        "evidence recall@k: share of a question's evidence turns that are source turns of the top k memories",
        "answer recall@k: share of the gold answer's content words in the top k memories' text (no LLM judge)",
        f"pipeline = processors + {stats['extractor']} + sinks on the real broker; baselines on the same embedder",
        f"goal: evidence recall@10 >= {GOAL_RATIO} x the every-turn-stored baseline ({ratio:.2f} x)",
    ]
    columns = ["method", "category", "questions", *(f"evidence@{k}" for k in KS), *(f"answer@{k}" for k in KS)]
    return BenchReport("memory-qa", columns=columns, rows=rows, summary=summary, notes=notes)


__all__ = [
    "KS",
    "content_words",
    "extracted_unfiltered",
    "progress_bar",
    "questions",
    "run",
    "score",
    "turn_memories",
]
