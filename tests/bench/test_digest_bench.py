"""`memlane bench digest --quick` on the real SWE-agent and loghub outputs: tokens before/after and the fact
survival it defines are in its JSON, per source, with the extractive digester named."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from streams.cli import app


def test_bench_digest_reports_tokens_and_fact_survival(tmp_path: Path, data_dir: Path) -> None:
    args = ["bench", "digest", "--quick", "--data", str(data_dir), "--results-dir", str(tmp_path)]
    result = CliRunner().invoke(app, args, env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    payload = json.loads((tmp_path / "digest.json").read_text())
    rows = {row["source"]: row for row in payload["rows"]}
    assert rows["swe-agent"]["outputs"] == 8 and rows["loghub"]["outputs"] == 3
    assert rows["all"]["tokens_before"] == rows["swe-agent"]["tokens_before"] + rows["loghub"]["tokens_before"]
    assert 0 < payload["tokens_after"] < payload["tokens_before"]
    assert payload["tokens_saved_ratio"] == 1 - payload["tokens_after"] / payload["tokens_before"]
    assert rows["swe-agent"]["facts"] > 0 and rows["loghub"]["facts"] > 0
    for row in rows.values():
        assert 0.0 <= row["in_text"] <= row["reachable"] <= 1.0 and 0.0 < row["slice_share"] < 0.5
        assert row["digest_tokens_p50"] <= 260 and row["model_digests"] == 0
    assert payload["digester"] == "extractive (no model)"
