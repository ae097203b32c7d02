"""The LoCoMo evaluation: loading, evidence normalisation, metrics, baselines, sweep and plot."""

from __future__ import annotations

import json
import math
from datetime import UTC, datetime
from pathlib import Path

import pytest
from evaluation_data import data_missing, shared_data_dir

from processors.stage_settings import ProcessorSettings
from streams.bench.locomo_eval import (
    HEADLINE,
    baseline_windows,
    compute_metrics,
    evaluate,
    load_locomo,
    normalise_evidence,
    parse_session_time,
    sweep,
    write_plot,
)

SAMPLE = {
    "sample_id": "conv-x",
    "conversation": {
        "speaker_a": "Ana",
        "speaker_b": "Ben",
        "session_1_date_time": "1:56 pm on 8 May, 2023",
        "session_1": [
            {"speaker": "Ana", "dia_id": "D1:1", "text": "Hey Ben! Good to see you!"},
            {"speaker": "Ben", "dia_id": "D1:2", "text": "Hi! Thanks, great to see you too!"},
            {"speaker": "Ana", "dia_id": "D1:3", "text": "I started a pottery class in Lisbon last week."},
            {
                "speaker": "Ben",
                "dia_id": "D1:4",
                "text": "Look at this!",
                "img_url": ["https://example.org/cat.jpg"],
                "blip_caption": "a photo of a cat sleeping on a red sofa",
            },
        ],
        "session_2_date_time": "10:02 am on 20 May, 2023",
        "session_2": [
            {"speaker": "Ben", "dia_id": "D2:1", "text": "My cat Miso turned 3 yesterday."},
            {"speaker": "Ana", "dia_id": "D2:2", "text": "Aww, congrats!"},
        ],
    },
    "qa": [
        {"question": "Where is the pottery class?", "answer": "Lisbon", "evidence": ["D1:3"], "category": 4},
        {"question": "How old is Miso?", "answer": "3", "evidence": ["D2:1; D1:4"], "category": 1},
        {"question": "When?", "answer": "May", "evidence": ["D:2:1", "D"], "category": 2},
        {"question": "Missing?", "answer": "-", "evidence": ["D9:9"], "category": 5},
    ],
    "observation": {
        "session_1_observation": {"Ana": [["Ana takes pottery classes.", "D1:3"]], "Ben": []},
        "session_2_observation": {"Ben": [["Ben has a cat called Miso.", ["D2:1", "D1:4"]]]},
    },
}


@pytest.fixture
def sample_file(tmp_path: Path) -> Path:
    path = tmp_path / "locomo_tiny.json"
    path.write_text(json.dumps([SAMPLE]), encoding="utf-8")
    return path


def test_session_times_and_evidence_ids_are_normalised() -> None:
    assert parse_session_time("1:56 pm on 8 May, 2023") == datetime(2023, 5, 8, 13, 56, tzinfo=UTC)
    assert parse_session_time("12:48 am on 1 February, 2023") == datetime(2023, 2, 1, 0, 48, tzinfo=UTC)
    assert normalise_evidence(["D8:6; D9:17"]) == ["D8:6", "D9:17"]
    assert normalise_evidence("D:11:26") == ["D11:26"]
    assert normalise_evidence(["D", "D1:3"]) == ["D1:3"]


def test_loading_builds_turns_and_evidence(sample_file: Path) -> None:
    (conv,) = load_locomo(sample_file, turn_interval_s=60)
    assert [t.turn_index for t in conv.turns] == list(range(6))
    assert {t.user_id for t in conv.turns} == {"Ana", "Ben"}
    assert conv.turns[3].attachments[0].caption == "a photo of a cat sleeping on a red sofa"
    assert conv.turns[3].attachments[0].url == "https://example.org/cat.jpg"
    assert (conv.turns[1].event_time - conv.turns[0].event_time).total_seconds() == 60
    assert conv.turns[4].event_time == datetime(2023, 5, 20, 10, 2, tzinfo=UTC)
    assert [q.evidence for q in conv.qa] == [(2,), (4, 3), (4,), ()]
    assert conv.observation_turns == frozenset({2, 3, 4})
    assert conv.unresolved_evidence == 1


def test_metrics_count_kept_evidence_turns(sample_file: Path) -> None:
    conversations = load_locomo(sample_file)
    every = compute_metrics(conversations, baseline_windows(conversations, 1))
    assert every["requests"] == 6 and every["requests_per_100_turns"] == 100.0
    assert every["token_fraction"] == 1.0 and every["qa_evidence_recall"] == 1.0
    windows = compute_metrics(conversations, baseline_windows(conversations, 4))
    assert windows["requests"] == 2
    only_first = compute_metrics(conversations, baseline_windows(conversations, 3)[:1])
    assert only_first["qa_evidence_recall"] == pytest.approx(1 / 3)  # D1:3 of {D1:3, D1:4, D2:1}
    assert only_first["qa_recall_by_category"]["single_hop"] == 1.0
    assert only_first["qa_recall_by_category"]["multi_hop"] == 0.0
    assert math.isnan(only_first["qa_recall_by_category"]["adversarial"])
    assert only_first["observation_evidence_recall"] == pytest.approx(1 / 3)
    assert 0.0 < only_first["token_fraction"] < 1.0
    none = compute_metrics(conversations, [])
    assert (none["token_fraction"], none["qa_evidence_recall"], none["qa_question_coverage"]) == (0.0, 0.0, 0.0)


def test_evaluate_a_small_file(sample_file: Path) -> None:
    report = evaluate(sample_file)
    metrics = report["filter"]
    assert metrics["accounted"] is True
    assert metrics["qa_evidence_recall"] == 1.0  # the fact, the photo and the cat's age are kept
    assert metrics["token_fraction"] < 1.0  # the greetings and the congratulations are not
    assert sum(metrics["skips_by_reason"].values()) == 3
    assert set(report["baselines"]) == {"per_turn", "window_3"}


def test_evaluate_the_dev_file() -> None:
    path = shared_data_dir() / "locomo" / "locomo_dev5.json"
    if not path.exists():
        data_missing("locomo/locomo_dev5.json")
    report = evaluate(path, ProcessorSettings())
    metrics = report["filter"]
    for key in (*HEADLINE, "qa_recall_by_category", "qa_question_coverage", "requests_by_trigger"):
        assert key in metrics
    assert metrics["turns"] == 2760 and metrics["accounted"] is True
    for value in (metrics["qa_evidence_recall"], metrics["observation_evidence_recall"]):
        assert 0.0 <= value <= 1.0
    assert set(metrics["qa_recall_by_category"]) == {
        "multi_hop",
        "temporal",
        "open_domain",
        "single_hop",
        "adversarial",
    }
    assert metrics["token_fraction"] < report["baselines"]["per_turn"]["token_fraction"] == 1.0
    assert metrics["requests_per_100_turns"] < report["baselines"]["window_3"]["requests_per_100_turns"]


def test_sweep_and_plot(sample_file: Path, tmp_path: Path) -> None:
    rows = sweep(sample_file, "fact_min_information", (0.0, 1.0, 5.0))
    assert [r["value"] for r in rows] == [0.0, 1.0, 5.0]
    assert set(HEADLINE) <= set(rows[0])
    fractions = [r["token_fraction"] for r in rows]
    assert fractions == sorted(fractions, reverse=True) and fractions[0] > fractions[-1]
    conversations = load_locomo(sample_file)
    baselines = {"per_turn": compute_metrics(conversations, baseline_windows(conversations, 1))}
    out = write_plot(rows, tmp_path / "plots" / "tradeoff.png", baselines)
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
