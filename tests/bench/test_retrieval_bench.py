"""`memlane bench retrieval` on a tiny LoCoMo file: memories carry their context windows, every split is scored."""

from __future__ import annotations

import copy
import json
from pathlib import Path

from test_locomo_eval import SAMPLE

from streams.bench.contract import BenchOptions
from streams.bench.locomo_eval import load_locomo
from streams.bench.retrieval import context_of, run, session_batches
from streams.bench.retrieval_eval import recall_at
from streams.settings import Settings


def tiny_file(tmp_path: Path) -> Path:
    tuning = copy.deepcopy(SAMPLE) | {"sample_id": "conv-26"}
    held = copy.deepcopy(SAMPLE) | {"sample_id": "conv-x"}
    path = tmp_path / "locomo_two.json"
    path.write_text(json.dumps([tuning, held]), encoding="utf-8")
    return path


def test_memories_carry_the_turns_before_them_in_their_session(tmp_path: Path) -> None:
    conv = load_locomo(tiny_file(tmp_path))[0]
    first, second = session_batches(conv)
    assert first.memories[0].context is None
    assert first.memories[2].context == "Ana: Hey Ben! Good to see you!\nBen: Hi! Thanks, great to see you too!"
    assert second.memories[0].context is None  # a new session starts without context
    assert context_of(conv.turns, 3, before=1) == "Ana: I started a pottery class in Lisbon last week."
    assert recall_at([[1], [2, 3]], (3, 9), 2) == 0.5


def test_the_report_gives_every_mode_per_split_and_the_default_mode_as_headline(tmp_path: Path) -> None:
    report = run(BenchOptions(Settings(), data=tiny_file(tmp_path), results_dir=tmp_path))
    summary = report.summary
    assert summary["default_mode"] == "hybrid" and summary["recall_at_10_split"] == "held-out"
    assert summary["recall_at_10"] == summary["recall_at_10_hybrid_held_out"]
    assert summary["tuning_conversations"] == ["conv-26"]
    methods = {row["method"] for row in report.rows}
    assert {"bm25s", "hybrid", "hybrid-no-time", "hybrid-rrf", "dense", "multivector"} <= methods
    splits = {(row["split"], row["category"]) for row in report.rows if row["method"] == "hybrid"}
    assert {("tuning", "single_hop"), ("held-out", "multi_hop"), ("all", "all")} <= splits
    assert summary["context_bytes_per_memory"] > 0 and summary["query_p95_ms_hybrid"] > 0
    path = report.write(tmp_path)
    assert json.loads(path.read_text())["rows"]
