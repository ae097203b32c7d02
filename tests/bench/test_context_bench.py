"""`memlane bench context --quick` end to end on the fake Ollama: the figures are in its JSON, the fake is named
as the re-ranker, and its smallest-valid rankings leave the search order (both recalls agree by construction)."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from streams.cli import app


def test_bench_context_reports_recall_with_and_without_and_tokens(tmp_path: Path, locomo_path: Path) -> None:
    args = ["bench", "context", "--quick", "--data", str(locomo_path), "--results-dir", str(tmp_path)]
    result = CliRunner().invoke(app, args, env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    payload = json.loads((tmp_path / "context.json").read_text())
    assert payload["questions"] == 25 and payload["outcomes"] == {"reranked": 25}
    assert payload["reranker"].startswith("fake Ollama") and "FAKE" in result.output
    assert payload["recall_at_3_reranked"] == payload["recall_at_3_search"] > 0
    assert payload["recall_at_20"] >= payload["recall_at_3_search"]
    assert payload["tokens_all_candidates_per_question"] > payload["tokens_top_n_per_question"] > 0
    ratio = 1 - payload["tokens_top_n_per_question"] / payload["tokens_all_candidates_per_question"]
    assert abs(payload["tokens_saved_ratio"] - ratio) < 1e-9, "every question has 20 candidates"
    assert payload["rerank_tokens_in"] > 0
    assert [row["k"] for row in payload["rows"]] == [3, 3, 20]
