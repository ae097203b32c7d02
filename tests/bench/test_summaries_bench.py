"""`memlane bench summaries --quick` on the first LoCoMo dev conversation with the fake servers: summaries per
level follow the windows and blocks, every summary is within its level's budget, Claude's level 3 is counted."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from streams.cli import app


def test_bench_summaries_counts_levels_and_tokens(tmp_path: Path, locomo_path: Path) -> None:
    args = ["bench", "summaries", "--quick", "--data", str(locomo_path), "--results-dir", str(tmp_path)]
    result = CliRunner().invoke(app, args, env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    payload = json.loads((tmp_path / "summaries.json").read_text())
    assert payload["turns"] == 60 and payload["windows"] == 12
    assert payload["level1"] == 12 and payload["level2"] == 6  # the window ending at 59 closes block 50..59
    assert payload["summaries_per_conversation"] == 19
    rows = payload["rows"]
    assert [row["level"] for row in rows] == ["1", "2", "3", "3"]
    assert rows[0]["summary_tokens_mean"] <= 200 and rows[1]["summary_tokens_mean"] <= 500
    assert payload["claude_tokens_level3"] > 0 and payload["local_tokens"] > 0
    assert payload["models"] == "fake servers (word counts)"
