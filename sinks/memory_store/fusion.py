"""Fusing ranked lists into one: score fusions, reciprocal rank fusion, and the boosts applied after them.

Each source of a fused search (dense vector, BM25, tag vector) returns its best `limit x prefetch_factor`
candidates with scores on its own scale (cosine in [-1, 1], BM25 unbounded). `fuse` puts them on one:

    zscore   (s - mean) / sd per list, then the weighted sum (the default)
    dbsf     distribution-based score fusion, the engine's `Fusion.Dbsf()` formula: (s - (mean - 3 sd)) / 6 sd
             clipped to [0, 1] per list, then the weighted sum (with equal weights it ranks as the engine does)
    rrf      weighted reciprocal rank fusion: sum of weight / (k + rank)

A candidate missing from a list scores that list's lowest normalised score (zscore, dbsf) or nothing (rrf).
Two boosts follow, both additive on the fused scale: `session_boost` raises every candidate by a share of
the best fused score in its session (its batch: the request window it was extracted from), so a memory next
to a strong hit climbs; `time_boost` raises those whose event time lies in the span a query named.
"""

from __future__ import annotations

import math
from collections.abc import Collection, Mapping, Sequence

from .query import Found

FUSIONS = ("zscore", "dbsf", "rrf")


def _stats(scores: Sequence[float]) -> tuple[float, float]:
    mean = sum(scores) / len(scores)
    sd = math.sqrt(sum((s - mean) ** 2 for s in scores) / len(scores))
    return mean, sd


def normalised(scores: Sequence[float], method: str) -> list[float]:
    """`scores` of one list on the fused scale of `method` (`zscore` or `dbsf`)."""
    if not scores:
        return []
    mean, sd = _stats(scores)
    if method == "zscore":
        return [(s - mean) / sd if sd > 0 else 0.0 for s in scores]
    low, span = mean - 3 * sd, 6 * sd
    return [min(1.0, max(0.0, (s - low) / span)) if span > 0 else 0.5 for s in scores]


def fuse(
    lists: Sequence[Sequence[Found]], weights: Sequence[float], method: str, *, rrf_k: int = 60
) -> dict[str, float]:
    """Fused score of every candidate id in `lists` (one weight per list)."""
    if method not in FUSIONS:
        raise ValueError(f"unknown fusion {method!r}; use one of {FUSIONS}")
    fused: dict[str, float] = {}
    if method == "rrf":
        for found, weight in zip(lists, weights, strict=True):
            for rank, point in enumerate(found):
                fused[point.id] = fused.get(point.id, 0.0) + weight / (rrf_k + rank + 1)
        return fused
    per_list = []
    for found in lists:
        values = normalised([point.score for point in found], method)
        per_list.append(({point.id: v for point, v in zip(found, values, strict=True)}, min(values, default=0.0)))
    ids = {point.id for found in lists for point in found}
    for pid in ids:
        fused[pid] = sum(w * scores.get(pid, floor) for (scores, floor), w in zip(per_list, weights, strict=True))
    return fused


def session_boost(scores: dict[str, float], session_of: Mapping[str, str | None], share: float, top: int) -> None:
    """Add `share` x the best fused score of each candidate's session among the `top` best (in place)."""
    if share <= 0 or not scores:
        return
    best: dict[str, float] = {}
    for pid, score in sorted(scores.items(), key=lambda kv: -kv[1])[:top]:
        session = session_of.get(pid)
        if session is not None and session not in best:
            best[session] = score
    for pid in scores:
        session = session_of.get(pid)
        if session in best:
            scores[pid] += share * best[session]


def time_boost(scores: dict[str, float], in_span: Collection[str], boost: float) -> int:
    """Add `boost` to the candidates in `in_span` (their event time lies in the query's span), in place."""
    boosted = 0
    for pid in in_span:
        if pid in scores:
            scores[pid] += boost
            boosted += 1
    return boosted


def ranked(scores: Mapping[str, float], limit: int) -> list[tuple[str, float]]:
    """The `limit` best (id, score) pairs, best first (ties by id, so rankings are reproducible)."""
    return sorted(scores.items(), key=lambda kv: (-kv[1], kv[0]))[:limit]


__all__ = ["FUSIONS", "fuse", "normalised", "ranked", "session_boost", "time_boost"]
