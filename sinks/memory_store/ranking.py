"""What a fused search does between the engine's candidate lists and the hits: fusion, then the boosts.

`query_span` reads the time a query names (`temporal.py`) and, as `SinkSettings.temporal` says, returns it
(widened by the configured margins) as an event-time condition for the boost (the store asks the engine
which candidates meet it, without reading payloads), adds it to the conditions as a filter, or ignores it.
`fused_top` fuses the candidate lists with the configured fusion and weights (`fusion.py`), adds the time
boost and the optional session boost (a memory's session is its batch: the request window it was
extracted from), and keeps the `limit` best with their payloads.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Sequence
from datetime import datetime, timedelta
from typing import Any

from sinks.sink_settings import SinkSettings

from .fusion import fuse, ranked, session_boost, time_boost
from .payload import iso
from .query import Condition, DateRange, Found
from .temporal import time_span


def query_span(query: str, now: datetime, settings: SinkSettings, conditions: list[Condition]) -> DateRange | None:
    """The widened span `query` names, as an event-time condition to boost by; as a filter it is appended to
    `conditions` instead (and None returned)."""
    if settings.temporal == "off":
        return None
    span = time_span(query, now)
    if span is None:
        return None
    span = span.widened(timedelta(days=settings.temporal_before_days), timedelta(days=settings.temporal_after_days))
    condition = DateRange("event_time", iso(span.start), iso(span.end))
    if settings.temporal == "filter":
        conditions.append(condition)
        return None
    return condition if settings.temporal_boost > 0 else None


def fused_top(
    lists: Sequence[Sequence[Found]],
    weights: Sequence[float],
    limit: int,
    settings: SinkSettings,
    fetch: Callable[[Sequence[str]], dict[str, dict[str, Any]]],
    *,
    in_span: Collection[str] = (),
    dense_only: bool = False,
) -> list[Found]:
    """The `limit` best candidates of `lists` after fusion and boosts, scored on the fused scale.

    Candidates come without payloads: reading a payload costs more than the search (cold, ~0.1 ms a point).
    `in_span` are the candidates whose event time lies in the span the query named. `fetch` loads the payloads
    of the `limit` best, or, with a session boost, of the best `max(3 x limit, session_boost_top)` it reorders.
    `dense_only` keeps only candidates of the first (dense) list: what a `min_score` on cosine similarity asks.
    """
    scores = fuse(lists, weights, settings.fusion, rrf_k=settings.rrf_k)
    if dense_only:
        allowed = {found.id for found in lists[0]}
        scores = {pid: score for pid, score in scores.items() if pid in allowed}
    if in_span:
        time_boost(scores, in_span, settings.temporal_boost)
    boost = settings.session_boost > 0
    pool = dict(ranked(scores, max(3 * limit, settings.session_boost_top) if boost else limit))
    payloads = fetch(list(pool))
    pool = {pid: score for pid, score in pool.items() if pid in payloads}
    if boost:
        sessions = {pid: payload.get("batch_id") for pid, payload in payloads.items()}
        session_boost(pool, sessions, settings.session_boost, settings.session_boost_top)
    return [Found(pid, score, payloads[pid]) for pid, score in ranked(pool, limit)]


__all__ = ["fused_top", "query_span"]
