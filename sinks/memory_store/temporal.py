"""Time in a query: the span of event time an English search query names, if it names one.

    time_span("what did Ana cook last May?", now)           -> May of the year before (or this year)
    time_span("where was Tim in the week before 16 November 2023", now) -> 16 Nov 2023 (one day)
    time_span("what happened two weeks ago?", now)         -> the week around now - 14 days
    time_span("where does Ana live?", now)                 -> None

Understood: absolute dates (`8 May, 2023`, `May 8th 2023`, `2023-05-08`), months with or without a year
(`May 2023`, `in June`; a bare month is its latest occurrence up to `now`, `next June` the coming one),
years (`in 2022`), `between <date> and <date>`, `yesterday`, `today`, `last night`, `last|this|past week`,
`weekend`, `month`, `year`, and `N days|weeks|months|years ago` (digits or number words up to twelve).
When several are named, the span covers them all. `now` is the time relative expressions are read
against: the time of the call, or what the caller says (a question asked after a conversation ended).

Search uses the span as a boost on memories whose event time lies in it (widened by a margin, since
people mostly talk about an event after it happened) or, when configured, as a filter.
"""

from __future__ import annotations

import calendar
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

_MONTHS = {name.lower(): i for i, name in enumerate(calendar.month_name) if name}
_MONTHS |= {name.lower(): i for i, name in enumerate(calendar.month_abbr) if name}
_MONTHS["sept"] = 9
_MONTH = r"(?P<{g}>" + "|".join(sorted(_MONTHS, key=len, reverse=True)) + r")\.?"
_NUMBERS = {
    "a": 1, "an": 1, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6,
    "seven": 7, "eight": 8, "nine": 9, "ten": 10, "eleven": 11, "twelve": 12, "a couple of": 2, "a few": 3,
}  # fmt: skip
_UNIT_DAYS = {"day": 1, "week": 7, "month": 30, "year": 365}
_YEAR = r"(?P<{g}>(?:19|20|21)\d\d)"
_DAY = r"(?P<{g}>[0-3]?\d)(?:st|nd|rd|th)?"


def _rx(pattern: str) -> re.Pattern[str]:
    return re.compile(pattern, re.IGNORECASE)


_ISO = _rx(r"\b(?P<y>(?:19|20|21)\d\d)-(?P<m>[01]\d)-(?P<d>[0-3]\d)\b")
_DAY_MONTH_YEAR = _rx(rf"\b{_DAY.format(g='d')}\s*(?:of\s+)?{_MONTH.format(g='m')},?\s*{_YEAR.format(g='y')}\b")
_MONTH_DAY_YEAR = _rx(rf"\b{_MONTH.format(g='m')}\s+{_DAY.format(g='d')},?\s*{_YEAR.format(g='y')}\b")
_MONTH_YEAR = _rx(rf"\b{_MONTH.format(g='m')},?\s+(?:of\s+)?{_YEAR.format(g='y')}\b")
_DAY_MONTH = _rx(rf"\b{_DAY.format(g='d')}\s*(?:of\s+)?{_MONTH.format(g='m')}\b")
_MONTH_DAY = _rx(rf"\b{_MONTH.format(g='m')}\s+{_DAY.format(g='d')}\b(?!\s*:)")
_BARE_MONTH = _rx(rf"\b(?P<rel>last|next|this|in|during|of|since|by)?\s*{_MONTH.format(g='m')}\b(?!\s*[-/]?\d)")
_BARE_YEAR = _rx(rf"\b(?:in|during|of|year|since|by)?\s*{_YEAR.format(g='y')}\b")
_NUMBER_WORDS = "|".join(sorted((re.escape(k) for k in _NUMBERS), key=len, reverse=True))
_AGO = _rx(rf"\b(?P<n>\d+|{_NUMBER_WORDS})\s+(?P<unit>day|week|month|year)s?\s+ago\b")
_RELATIVE = _rx(r"\b(?P<rel>last|this|past|previous|current)\s+(?P<unit>week|weekend|month|year)\b")
_DAYWORDS = _rx(r"\b(?P<w>yesterday|today|tonight|last night)\b")
_VERBS = frozenset({"may", "march"})
_MAY_VERB = _rx(r"\bmay\s+(?:i|we|you|he|she|they|it|be|have|not|also)\b")


@dataclass(frozen=True, slots=True)
class TimeSpan:
    """A closed span of event time, `[start, end]`, both UTC."""

    start: datetime
    end: datetime

    def widened(self, before: timedelta, after: timedelta) -> TimeSpan:
        return TimeSpan(self.start - before, self.end + after)

    def covers(self, moment: datetime) -> bool:
        return self.start <= moment <= self.end


def _day(year: int, month: int, day: int) -> TimeSpan | None:
    try:
        start = datetime(year, month, day, tzinfo=UTC)
    except ValueError:
        return None
    return TimeSpan(start, start + timedelta(days=1) - timedelta(microseconds=1))


def _month(year: int, month: int) -> TimeSpan:
    start = datetime(year, month, 1, tzinfo=UTC)
    days = calendar.monthrange(year, month)[1]
    return TimeSpan(start, start + timedelta(days=days) - timedelta(microseconds=1))


def _year(year: int) -> TimeSpan:
    return TimeSpan(datetime(year, 1, 1, tzinfo=UTC), datetime(year + 1, 1, 1, tzinfo=UTC) - timedelta(microseconds=1))


def _around(moment: datetime, days: float) -> TimeSpan:
    half = timedelta(days=days / 2)
    return TimeSpan(moment - half, moment + half)


def _bare_month(month: int, rel: str, now: datetime) -> TimeSpan:
    year = now.year
    if rel == "next":
        year += month <= now.month
    elif rel == "last":
        year -= month >= now.month
    elif month > now.month:
        year -= 1
    return _month(year, month)


def _named_month(match: re.Match[str], now: datetime) -> TimeSpan | None:
    name, rel = match["m"], (match["rel"] or "").lower()
    if name.lower() in _VERBS and not rel and not name[0].isupper():
        return None  # "may" and "march" are verbs unless capitalised or after "in", "last", ...
    return _bare_month(_MONTHS[name.lower()], rel, now)


def _day_of_year(month: int, day: int, now: datetime) -> TimeSpan | None:
    """`day` of `month` in its latest occurrence up to `now`."""
    span = _day(now.year, month, day)
    if span is not None and span.start > now:
        span = _day(now.year - 1, month, day)
    return span


def _relative(rel: str, unit: str, now: datetime) -> TimeSpan:
    today = now.replace(hour=0, minute=0, second=0, microsecond=0)
    current = rel in ("this", "current")
    if unit == "year":
        return _year(now.year if current else now.year - 1) if rel != "past" else TimeSpan(now - timedelta(365), now)
    if unit == "month":
        if rel == "past":
            return TimeSpan(now - timedelta(days=31), now)
        month, year = (now.month, now.year) if current else ((now.month - 2) % 12 + 1, now.year - (now.month == 1))
        return _month(year, month)
    start = today - timedelta(days=today.weekday())  # this week's Monday
    if unit == "weekend":
        saturday = start + timedelta(days=5) - (timedelta(0) if current else timedelta(days=7))
        return TimeSpan(saturday, saturday + timedelta(days=2) - timedelta(microseconds=1))
    if rel == "past":
        return TimeSpan(now - timedelta(days=7), now)
    start -= timedelta(0) if current else timedelta(days=7)
    return TimeSpan(start, start + timedelta(days=7) - timedelta(microseconds=1))


def time_spans(query: str, now: datetime) -> list[TimeSpan]:
    """Every span of event time `query` names, in the order found (see the module docstring)."""
    now = now if now.tzinfo else now.replace(tzinfo=UTC)
    text = _MAY_VERB.sub(" ", query)
    spans: list[TimeSpan] = []

    def take(pattern: re.Pattern[str], build: object) -> None:
        nonlocal text
        for match in list(pattern.finditer(text)):
            span = build(match)  # type: ignore[operator]
            if span is not None:
                spans.append(span)
        text = pattern.sub(" ", text)

    take(_ISO, lambda m: _day(int(m["y"]), int(m["m"]), int(m["d"])))
    take(_DAY_MONTH_YEAR, lambda m: _day(int(m["y"]), _MONTHS[m["m"].lower()], int(m["d"])))
    take(_MONTH_DAY_YEAR, lambda m: _day(int(m["y"]), _MONTHS[m["m"].lower()], int(m["d"])))
    take(_MONTH_YEAR, lambda m: _month(int(m["y"]), _MONTHS[m["m"].lower()]))
    take(_DAY_MONTH, lambda m: _day_of_year(_MONTHS[m["m"].lower()], int(m["d"]), now))
    take(_MONTH_DAY, lambda m: _day_of_year(_MONTHS[m["m"].lower()], int(m["d"]), now))
    take(_BARE_MONTH, lambda m: _named_month(m, now))
    take(_BARE_YEAR, lambda m: _year(int(m["y"])))
    if spans:  # a named date wins over words read against `now` ("last weekend before 10 April")
        return spans
    take(_AGO, lambda m: _ago(m, now))
    take(_RELATIVE, lambda m: _relative(m["rel"].lower(), m["unit"].lower(), now))
    take(_DAYWORDS, lambda m: _dayword(m["w"].lower(), now))
    return spans


def _ago(match: re.Match[str], now: datetime) -> TimeSpan:
    raw = match["n"].lower()
    count = int(raw) if raw.isdigit() else _NUMBERS[raw]
    days = _UNIT_DAYS[match["unit"].lower()]
    return _around(now - timedelta(days=count * days), max(1.0, days * 1.0))


def _dayword(word: str, now: datetime) -> TimeSpan:
    today = now.replace(hour=0, minute=0, second=0, microsecond=0)
    start = today - timedelta(days=1) if word in ("yesterday", "last night") else today
    return TimeSpan(start, start + timedelta(days=1) - timedelta(microseconds=1))


def time_span(query: str, now: datetime) -> TimeSpan | None:
    """The one span covering every time `query` names, or None when it names none."""
    spans = time_spans(query, now)
    if not spans:
        return None
    return TimeSpan(min(s.start for s in spans), max(s.end for s in spans))


__all__ = ["TimeSpan", "time_span", "time_spans"]
