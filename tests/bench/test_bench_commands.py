"""`memlane bench publish|extract --quick` run end to end on the session broker and write their JSON."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from streams.cli import app


@pytest.mark.parametrize(
    ("name", "keys"),
    [
        ("publish", ("ratio", "ours_msgs_per_s", "raw_msgs_per_s")),
        ("extract", ("efficiency", "overhead_p99_ms", "overhead_p50_ms")),
    ],
)
def test_bench_command_writes_its_results(
    name: str, keys: tuple[str, ...], broker_bootstrap: str, tmp_path: Path, locomo_path: Path
) -> None:
    env = {"MEMLANE_KAFKA_BOOTSTRAP": broker_bootstrap, "COLUMNS": "200"}
    args = ["bench", name, "--quick", "--results-dir", str(tmp_path)]
    if name == "publish":
        args += ["--data", str(locomo_path)]
    result = CliRunner().invoke(app, args, env=env)
    assert result.exit_code == 0, result.output
    payload = json.loads((tmp_path / f"{name}.json").read_text())
    for key in keys:
        assert isinstance(payload[key], float) and payload[key] > 0, key
    assert payload["rows"], "the table's rows are kept in the JSON"
