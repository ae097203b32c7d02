"""Score fusion and boosts: z-score and DBSF normalisation, weighted RRF, the session and time boosts."""

from __future__ import annotations

import pytest

from sinks.memory_store.fusion import fuse, normalised, ranked, session_boost, time_boost
from sinks.memory_store.query import Found


def hits(*pairs: tuple[str, float]) -> list[Found]:
    return [Found(pid, score, {}) for pid, score in pairs]


def test_zscore_standardises_each_list() -> None:
    values = normalised([3.0, 1.0, 2.0], "zscore")
    assert sum(values) == pytest.approx(0.0)
    assert values[0] == pytest.approx(1.2247, abs=1e-4)
    assert normalised([5.0, 5.0], "zscore") == [0.0, 0.0]
    assert normalised([], "zscore") == []


def test_dbsf_scales_mean_plus_minus_three_sd_to_the_unit_interval() -> None:
    values = normalised([3.0, 1.0, 2.0], "dbsf")
    assert values[2] == pytest.approx(0.5)
    assert all(0.0 <= v <= 1.0 for v in values)
    assert normalised([4.0], "dbsf") == [0.5]


def test_weighted_score_fusion_puts_both_scales_on_one() -> None:
    dense = hits(("a", 0.9), ("b", 0.8), ("c", 0.1))
    bm25 = hits(("c", 30.0), ("d", 10.0), ("a", 9.0))
    equal = fuse([dense, bm25], (1.0, 1.0), "zscore")
    assert set(equal) == {"a", "b", "c", "d"}
    assert ranked(equal, 1)[0][0] == "a"  # high in both lists
    keyword_heavy = fuse([dense, bm25], (1.0, 3.0), "zscore")
    assert ranked(keyword_heavy, 1)[0][0] == "c"
    # a candidate missing from a list scores that list's lowest normalised score
    floor = min(normalised([30.0, 10.0, 9.0], "zscore"))
    assert equal["b"] == pytest.approx(normalised([0.9, 0.8, 0.1], "zscore")[1] + floor)


def test_dbsf_ranks_like_zscore_with_equal_weights() -> None:
    dense = hits(("a", 0.9), ("b", 0.7), ("c", 0.65), ("e", 0.2))
    bm25 = hits(("c", 12.0), ("b", 11.0), ("d", 2.0))
    z = [pid for pid, _ in ranked(fuse([dense, bm25], (1, 1), "zscore"), 5)]
    d = [pid for pid, _ in ranked(fuse([dense, bm25], (1, 1), "dbsf"), 5)]
    assert z[:3] == d[:3]


def test_weighted_rrf() -> None:
    scores = fuse([hits(("a", 0.9), ("b", 0.1)), hits(("b", 9.0))], (1.0, 2.0), "rrf", rrf_k=60)
    assert scores["a"] == pytest.approx(1 / 61)
    assert scores["b"] == pytest.approx(1 / 62 + 2 / 61)
    with pytest.raises(ValueError, match="unknown fusion"):
        fuse([], (), "borda")


def test_session_boost_lifts_the_neighbours_of_a_strong_hit() -> None:
    scores = {"a": 3.0, "b": 1.0, "c": 1.2}
    session_boost(scores, {"a": "s1", "b": "s1", "c": "s2"}, share=0.2, top=20)
    assert scores == pytest.approx({"a": 3.6, "b": 1.6, "c": 1.44})
    assert [pid for pid, _ in ranked(scores, 3)] == ["a", "b", "c"]
    untouched = {"a": 1.0}
    session_boost(untouched, {"a": "s"}, share=0.0, top=20)
    assert untouched == {"a": 1.0}


def test_time_boost_and_ranked_ties() -> None:
    scores = {"a": 1.0, "b": 1.0, "c": 0.5}
    assert time_boost(scores, {"c", "z"}, 1.0) == 1
    assert ranked(scores, 3) == [("c", 1.5), ("a", 1.0), ("b", 1.0)]
