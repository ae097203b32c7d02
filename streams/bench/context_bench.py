"""`memlane bench context`: RAG pre-ranking on LoCoMo dev questions: evidence recall@3 with and without the
local model's re-ranking, and the tokens of the top 3 against sending all 20 candidates.

Every turn of the LoCoMo dev conversations becomes one memory (as in `memlane bench retrieval`), indexed in an
embedded shard in a temporary directory. Each question of categories 1-4 with evidence is searched (dense,
filtered on its conversation) for `MEMLANE_OFFLOAD__CONTEXT_CANDIDATES` candidates (20); the re-ranker
(`processors.offload.rerank.OllamaReranker`, the same as `/v1/context`) orders them; recall@3 is the fraction of
the question's evidence turns among the first 3, averaged over questions, for the search order and for the
re-ranked order (recall@20 is the ceiling either can reach). Tokens are `processors.tokens.estimate_tokens` of
the memory texts: the top 3 returned against all 20 candidates (the seed's target: 70% fewer).

Which model re-ranks, honestly: with `--ollama-url URL [--model NAME]` a real server's model; without it the
fake Ollama server (`streams.testing`), whose answer is the smallest ranking the schema accepts (candidate 1
first): the order is then the search order by construction, and the two recall figures can only agree. That
run measures the protocol, the fallbacks and the tokens, not a model's judgement. No heuristic stands in for
the model. `--quick`: one conversation, its first 25 questions.
"""

from __future__ import annotations

import statistics
import tempfile
from collections import Counter
from collections.abc import Sequence
from contextlib import closing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rich.console import Console

from processors.offload.rerank import OllamaReranker
from schemas.ranking import Ranking
from sinks.embeddings import build_embedder
from sinks.memory_store import EdgeMemoryStore, SearchFilters
from streams.bench.contract import BenchOptions, BenchReport
from streams.bench.locomo_eval import load_locomo
from streams.bench.retrieval import TENANT, index_conversations
from streams.bench.retrieval_eval import questions, recall_at
from streams.testing.fake_ollama import FakeOllamaServer

GOAL_TOKENS_SAVED = 0.70
QUICK_QUESTIONS = 25
FAKE_MODEL = "memlane-fake-reranker"


@dataclass
class Figures:
    """What the benchmark counts per question: recall and tokens of each order, and the re-ranker's outcomes."""

    recall: dict[str, list[float]] = field(default_factory=lambda: {"search": [], "reranked": [], "all": []})
    tokens: dict[str, list[int]] = field(default_factory=lambda: {"search": [], "reranked": [], "all": []})
    outcomes: Counter[str] = field(default_factory=Counter)
    latencies: list[float] = field(default_factory=list)
    llm_tokens_in: int = 0
    llm_tokens_out: int = 0

    def add(self, turns: list[list[int]], evidence: Sequence[int], ranking: Ranking, top_n: int) -> None:
        reranked = [turns[i] for i in ranking.order]
        self.recall["search"].append(recall_at(turns, evidence, top_n))
        self.recall["reranked"].append(recall_at(reranked, evidence, top_n))
        self.recall["all"].append(recall_at(turns, evidence, len(turns)))
        self.tokens["search"].append(sum(ranking.tokens[:top_n]))
        self.tokens["reranked"].append(sum(ranking.tokens[i] for i in ranking.order[:top_n]))
        self.tokens["all"].append(sum(ranking.tokens))
        self.outcomes["reranked" if ranking.reranked else (ranking.reason or "?").split(":")[0]] += 1
        self.latencies.append(ranking.latency_ms)
        self.llm_tokens_in += ranking.tokens_in
        self.llm_tokens_out += ranking.tokens_out


def measure(options: BenchOptions, url: str, model: str) -> tuple[Figures, dict[str, Any]]:
    """Index the conversations, search and re-rank every question; the figures and what was indexed."""
    settings = options.settings
    offload = settings.offload
    source = options.data_path("locomo/locomo_dev5.json")
    conversations = load_locomo(source)[: 1 if options.quick else None]
    sinks = settings.sinks.model_copy(update={"edge_flush_each_upsert": False})
    figures = Figures()
    with tempfile.TemporaryDirectory(prefix="memlane-context-") as tmp:
        embedder = build_embedder(sinks, ollama_url=settings.ollama_url)
        with (
            EdgeMemoryStore(Path(tmp) / "shard", embedder, sinks) as store,
            closing(OllamaReranker.connect(url, model, offload)) as ranker,
        ):
            indexed = index_conversations(store, conversations, Console(stderr=True))
            for conv in conversations:
                index_of = {turn.event_id: turn.turn_index for turn in conv.turns}
                filters = SearchFilters(conversation_id=conv.sample_id)
                for question, _category, evidence in questions(conv)[: QUICK_QUESTIONS if options.quick else None]:
                    hits = store.search(
                        TENANT, question, filters, limit=offload.context_candidates, now=conv.turns[-1].event_time
                    )
                    turns = [
                        [index_of[m] for m in (h.record.memory_id, *h.record.merged_ids) if m in index_of] for h in hits
                    ]
                    ranking = ranker.rank(question, [h.record.text for h in hits], tenant_id=TENANT)
                    figures.add(turns, evidence, ranking, offload.context_top_n)
    return figures, {"conversations": len(conversations), **indexed, "data": str(source)}


def _mean(values: Sequence[float]) -> float:
    return statistics.mean(values) if values else 0.0


def report(options: BenchOptions, figures: Figures, meta: dict[str, Any], *, model: str, fake: bool) -> BenchReport:
    """The table (search order, pre-ranked, all candidates), the summary and honest notes."""
    f = figures
    top_n, candidates = options.settings.offload.context_top_n, options.settings.offload.context_candidates
    asked = len(f.recall["all"])
    all_tokens = sum(f.tokens["all"])
    saved = 1.0 - sum(f.tokens["reranked"]) / all_tokens if all_tokens else 0.0
    rows = [
        {"method": f"search order, top {top_n}", "k": top_n, "recall": _mean(f.recall["search"]),
         "tokens_per_question": _mean(f.tokens["search"])},
        {"method": f"pre-ranked by {model}, top {top_n}", "k": top_n, "recall": _mean(f.recall["reranked"]),
         "tokens_per_question": _mean(f.tokens["reranked"])},
        {"method": f"all {candidates} candidates", "k": candidates, "recall": _mean(f.recall["all"]),
         "tokens_per_question": _mean(f.tokens["all"])},
    ]  # fmt: skip
    summary: dict[str, Any] = {
        f"recall_at_{top_n}_search": _mean(f.recall["search"]),
        f"recall_at_{top_n}_reranked": _mean(f.recall["reranked"]),
        f"recall_at_{candidates}": _mean(f.recall["all"]),
        "tokens_top_n_per_question": _mean(f.tokens["reranked"]),
        "tokens_all_candidates_per_question": _mean(f.tokens["all"]),
        "tokens_saved_ratio": saved,
        "goal_tokens_saved": GOAL_TOKENS_SAVED,
        "meets_goal_tokens": saved >= GOAL_TOKENS_SAVED,
        "reranked_share": f.outcomes.get("reranked", 0) / asked if asked else 0.0,
        "outcomes": dict(f.outcomes),
        "rerank_p50_ms": statistics.median(f.latencies) if f.latencies else 0.0,
        "rerank_tokens_in": f.llm_tokens_in,
        "rerank_tokens_out": f.llm_tokens_out,
        "reranker": "fake Ollama (smallest schema-valid ranking)" if fake else f"Ollama at {options.ollama_url}",
        "model": model,
        "candidates": candidates,
        "top_n": top_n,
        "questions": asked,
        **meta,
    }
    notes = [
        f"recall@{top_n} = fraction of a question's evidence turns in the first {top_n}, averaged over {asked} "
        "LoCoMo questions (categories 1-4); tokens = estimate_tokens of the memory texts",
        f"tokens: top {top_n} vs all {candidates} candidates: {saved:.0%} fewer (goal {GOAL_TOKENS_SAVED:.0%})",
    ]
    if fake:
        notes.append(
            "re-ranked by the FAKE Ollama server: it answers the smallest valid ranking (candidate 1 first), so the "
            "re-ranked order is the search order and both recalls agree by construction; run with --ollama-url "
            "and --model to measure a real model's re-ranking"
        )
    return BenchReport(
        "context",
        columns=["method", "k", "recall", "tokens_per_question"],
        rows=rows,
        summary=summary,
        notes=notes,
        title="RAG pre-ranking on LoCoMo: evidence recall and tokens handed to a paid model",
    )


def run(options: BenchOptions) -> BenchReport:
    """Pre-rank LoCoMo questions' candidates with the named Ollama, else with the fake one."""
    settings = options.settings
    if options.ollama_url:
        model = settings.offload.rerank_model or settings.extraction.fast_model
        figures, meta = measure(options, options.ollama_url, model)
        return report(options, figures, meta, model=model, fake=False)
    with FakeOllamaServer([FAKE_MODEL], load_seconds=0.0) as server:
        figures, meta = measure(options, server.url, FAKE_MODEL)
    return report(options, figures, meta, model=FAKE_MODEL, fake=True)


__all__ = ["GOAL_TOKENS_SAVED", "run"]
