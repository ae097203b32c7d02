"""`memlane bench labels` on a tiny LoCoMo file with the fake Ollama: the heuristic run and one run per way of
applying the labels side by side, coverage, the fake named as such; the fake's responder echoes the hint tags."""

from __future__ import annotations

import json
from pathlib import Path

from test_retrieval_bench import tiny_file

from streams.bench.contract import BenchOptions
from streams.bench.labels_bench import HEURISTIC, VARIANTS, echo_hints, run
from streams.settings import Settings


def test_echo_hints_answers_every_numbered_memory() -> None:
    content = "Memories:\n1. Ana likes pizza [tags: food preference]\n2. It rained"
    answer = json.loads(echo_hints({"messages": [{"role": "user", "content": content}]}))
    assert answer == {"labels": [{"n": 1, "labels": ["food preference"]}, {"n": 2, "labels": ["general"]}]}


def test_the_report_has_both_runs_and_coverage_and_says_the_model_is_fake(tmp_path: Path) -> None:
    report = run(BenchOptions(Settings(), data=tiny_file(tmp_path), results_dir=tmp_path, limit=5))
    summary = report.summary
    assert summary["model_is_fake"] and summary["memories_sent"] == 5 and summary["memories"] > 5
    assert summary["coverage_model_sent"] == 1.0 and summary["labels_applied"] == 5
    assert summary["failed_calls"] == 0 and summary["calls"] == 1
    assert 0.0 <= summary["coverage_heuristic"] <= 1.0
    assert {row["method"] for row in report.rows} == {HEURISTIC, *(method for method, _policy in VARIANTS.values())}
    assert "multivector_recall_at_10_model" in summary and "multivector_recall_at_10_heuristic" in summary
    assert summary["store_policy"] == "union_vocab_0_25" and summary["best_variant_at_10"] in VARIANTS
    assert all(f"multivector_recall_at_10_{key}" in summary for key in VARIANTS)
    assert any("FAKE" in note for note in report.notes)
    assert json.loads(report.write(tmp_path).read_text())["rows"]
