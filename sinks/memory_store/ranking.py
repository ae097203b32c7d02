"""What a fused search does between the engine's candidate lists and the hits: fusion, then the boosts.

`query_span` reads the time a query names (`temporal.py`) and, as `SinkSettings.temporal` says, returns it
(widened by the configured margins) for the boost, adds it to the conditions as an event-time filter, or
ignores it. `fused_top` fuses the candidate lists with the configured fusion and weights (`fusion.py`),
adds the session boost (a memory's session is its batch: the request window it was extracted from) and the
time boost, and keeps the `limit` best with their payloads.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from sinks.sink_settings import SinkSettings

from .fusion import fuse, ranked, session_boost, time_boost
from .payload import iso
from .query import Condition, DateRange, Found
from .temporal import TimeSpan, time_span


def event_time(payload: dict[str, Any]) -> datetime | None:
    """A stored point's event time, or None when its payload has none that parses."""
    raw = payload.get("event_time")
    try:
        return datetime.fromisoformat(raw) if isinstance(raw, str) else None
    except ValueError:
        return None


def query_span(query: str, now: datetime, settings: SinkSettings, conditions: list[Condition]) -> TimeSpan | None:
    """The widened span `query` names when it is to boost; as a filter it is appended to `conditions`."""
    if settings.temporal == "off":
        return None
    span = time_span(query, now)
    if span is None:
        return None
    span = span.widened(timedelta(days=settings.temporal_before_days), timedelta(days=settings.temporal_after_days))
    if settings.temporal == "filter":
        conditions.append(DateRange("event_time", iso(span.start), iso(span.end)))
        return None
    return span


def fused_top(
    lists: Sequence[Sequence[Found]],
    weights: Sequence[float],
    limit: int,
    settings: SinkSettings,
    span: TimeSpan | None = None,
    *,
    dense_only: bool = False,
) -> list[Found]:
    """The `limit` best candidates of `lists` after fusion and boosts, scored on the fused scale.

    `dense_only` keeps only candidates of the first (dense) list: what a `min_score` on cosine similarity asks.
    """
    payloads = {found.id: found.payload for part in lists for found in part}
    scores = fuse(lists, weights, settings.fusion, rrf_k=settings.rrf_k)
    if dense_only:
        allowed = {found.id for found in lists[0]}
        scores = {pid: score for pid, score in scores.items() if pid in allowed}
    sessions = {pid: payload.get("batch_id") for pid, payload in payloads.items()}
    session_boost(scores, sessions, settings.session_boost, settings.session_boost_top)
    if span is not None and settings.temporal_boost > 0:
        time_boost(scores, lambda pid: event_time(payloads[pid]), span, settings.temporal_boost)
    return [Found(pid, score, payloads[pid]) for pid, score in ranked(scores, limit)]


__all__ = ["event_time", "fused_top", "query_span"]
