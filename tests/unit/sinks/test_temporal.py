"""The time a query names: absolute dates, months and years, relative expressions, and what is not a time."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from sinks.memory_store.temporal import time_span, time_spans

NOW = datetime(2023, 11, 20, 15, 0, tzinfo=UTC)


def day(y: int, m: int, d: int) -> datetime:
    return datetime(y, m, d, tzinfo=UTC)


@pytest.mark.parametrize(
    ("query", "start", "end"),
    [
        ("What movie did Joanna watch on 1 May, 2022?", day(2022, 5, 1), day(2022, 5, 1)),
        ("Who did Maria have dinner with on May 3rd, 2023?", day(2023, 5, 3), day(2023, 5, 3)),
        ("deploy notes from 2023-05-08", day(2023, 5, 8), day(2023, 5, 8)),
        ("What did John attend in March 2023?", day(2023, 3, 1), day(2023, 3, 31)),
        ("When did Melanie go camping in June?", day(2023, 6, 1), day(2023, 6, 30)),
        ("anything from last May?", day(2023, 5, 1), day(2023, 5, 31)),
        ("what is planned for December", day(2022, 12, 1), day(2022, 12, 31)),
        ("plans for next June", day(2024, 6, 1), day(2024, 6, 30)),
        ("what did Ana cook in 2022", day(2022, 1, 1), day(2022, 12, 31)),
        ("Where was John between August 11 and August 15 2023?", day(2023, 8, 11), day(2023, 8, 15)),
        ("what happened last week", day(2023, 11, 13), day(2023, 11, 19)),
        ("this month's decisions", day(2023, 11, 1), day(2023, 11, 30)),
        ("what did we say yesterday", day(2023, 11, 19), day(2023, 11, 19)),
        ("what happened last year", day(2022, 1, 1), day(2022, 12, 31)),
    ],
)
def test_spans(query: str, start: datetime, end: datetime) -> None:
    span = time_span(query, NOW)
    assert span is not None, query
    assert (span.start, span.end.date()) == (start, end.date())


def test_ago_is_a_span_around_the_moment() -> None:
    span = time_span("what did we discuss two weeks ago", NOW)
    assert span is not None and span.covers(datetime(2023, 11, 6, tzinfo=UTC))
    assert not span.covers(datetime(2023, 11, 15, tzinfo=UTC))
    three = time_span("the bug from 3 days ago", NOW)
    assert three is not None and three.covers(datetime(2023, 11, 17, 15, tzinfo=UTC))


@pytest.mark.parametrize(
    "query",
    ["where does Ana live?", "May I ask what Ana likes?", "what may break the build", "the march in the parade", ""],
)
def test_no_time_named(query: str) -> None:
    assert time_span(query, NOW) is None


def test_a_named_date_wins_over_words_read_against_now() -> None:
    span = time_span("What did Maria do last weekend before April 10, 2023?", NOW)
    assert span is not None and (span.start, span.end.date()) == (day(2023, 4, 10), day(2023, 4, 10).date())


def test_several_times_are_all_covered() -> None:
    assert len(time_spans("in May 2022 and in July 2022", NOW)) == 2
    span = time_span("in May 2022 and in July 2022", NOW)
    assert span is not None and span.start == day(2022, 5, 1) and span.end.month == 7
    naive = time_span("in 2021", datetime(2023, 1, 1))
    assert naive is not None and naive.start.tzinfo is UTC
    widened = span.widened(span.start - span.start, span.end - span.end)
    assert widened == span
