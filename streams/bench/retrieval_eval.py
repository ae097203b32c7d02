"""Scoring of `memlane bench retrieval`: recall@k of ranked turn lists against LoCoMo's evidence turns.

recall@k of one question is the fraction of its evidence turns among the top k results (the LoCoMo paper's
definition), averaged over questions, per category and overall; `all@10` is the share of questions whose
evidence is all in the top 10. Questions of categories 1-4 with evidence are asked (5, adversarial, has no
answer to retrieve). Conversations are split in two: `TUNING` (the only ones the ranking defaults were chosen
on) and the rest, held out; every figure is given for each split.
"""

from __future__ import annotations

import statistics
from collections.abc import Callable, Sequence
from typing import Any

from rich.progress import Progress

from streams.bench.locomo_eval import CATEGORIES, LocomoConversation

KS = (5, 10, 25, 50)
ASKED = (1, 2, 3, 4)
TUNING = ("conv-26", "conv-30")
"""The conversations of locomo_dev5 the search defaults (fusion weights, window, boosts) were chosen on."""
Ranker = Callable[[LocomoConversation, str], list[list[int]]]


def split_of(conv: LocomoConversation) -> str:
    return "tuning" if conv.sample_id in TUNING else "held-out"


def questions(conv: LocomoConversation) -> list[tuple[str, int, tuple[int, ...]]]:
    return [(qa.question, qa.category, qa.evidence) for qa in conv.qa if qa.category in ASKED and qa.evidence]


def recall_at(ranking: Sequence[Sequence[int]], evidence: Sequence[int], k: int) -> float:
    """Fraction of `evidence` turns among the top `k` results."""
    found = {turn for hit in ranking[:k] for turn in hit}
    return sum(1 for turn in evidence if turn in found) / len(evidence)


def evaluate(
    name: str, rank: Ranker, conversations: Sequence[LocomoConversation], progress: Progress
) -> list[dict[str, Any]]:
    """Rows of recall@k for one method: per split and category, per split overall, and over all conversations."""
    scores: dict[tuple[str, str], dict[int, list[float]]] = {}
    complete: dict[tuple[str, str], list[float]] = {}
    task = progress.add_task(f"asking ({name})", total=sum(len(questions(c)) for c in conversations))
    for conv in conversations:
        for question, category, evidence in questions(conv):
            ranking = rank(conv, question)
            for group in ((split_of(conv), CATEGORIES[category]), (split_of(conv), "all"), ("all", "all")):
                per_k = scores.setdefault(group, {k: [] for k in KS})
                for k in KS:
                    per_k[k].append(recall_at(ranking, evidence, k))
                complete.setdefault(group, []).append(float(recall_at(ranking, evidence, 10) == 1.0))
            progress.advance(task)
    order = [(s, CATEGORIES[c]) for s in ("tuning", "held-out") for c in ASKED] + [
        ("tuning", "all"),
        ("held-out", "all"),
        ("all", "all"),
    ]
    return [
        {
            "split": split,
            "category": category,
            "method": name,
            "questions": len(complete[(split, category)]),
            **{f"R@{k}": statistics.mean(scores[(split, category)][k]) for k in KS},
            "all@10": statistics.mean(complete[(split, category)]),
        }
        for split, category in order
        if (split, category) in scores
    ]


__all__ = ["ASKED", "KS", "TUNING", "Ranker", "evaluate", "questions", "recall_at", "split_of"]
