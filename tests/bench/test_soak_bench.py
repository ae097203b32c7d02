"""`memlane bench soak --quick` runs the whole fleet at a fixed turn rate on the session broker, samples every
component, and ends with the verifier green: nothing lost, nothing duplicated."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from streams.bench.soak import COLUMNS
from streams.cli import app
from streams.wiring.fleet import PIPELINE


@pytest.mark.slow  # minutes long: make test-all
def test_soak_quick_samples_every_component_and_accounts_for_every_turn(broker_bootstrap: str, tmp_path: Path) -> None:
    env = {"MEMLANE_KAFKA_BOOTSTRAP": broker_bootstrap, "MEMLANE_STATE_DIR": str(tmp_path), "COLUMNS": "200"}
    args = ["bench", "soak", "--quick", "--results-dir", str(tmp_path)]
    result = CliRunner().invoke(app, args, env=env)
    assert result.exit_code == 0, result.output
    payload = json.loads((tmp_path / "soak.json").read_text())
    components = {f"{name}-1" for name in PIPELINE}
    assert set(payload["rss_growth_mb"]) == {*components, "max"}
    assert payload["rss_growth_mb"]["max"] == max(v for k, v in payload["rss_growth_mb"].items() if k != "max")
    assert {row["component"] for row in payload["rows"]} == components
    assert all(row["samples"] >= 3 and row["rss_first_mb"] > 0 for row in payload["rows"])
    assert set(payload["rows"][0]) == set(COLUMNS)
    assert payload["verdict"] == "ALL-TURNS-ACCOUNTED"
    assert payload["turns_lost"] == 0 and payload["turns_duplicated"] == 0 and payload["memory_ids_twice"] == 0
    assert payload["turns_published"] >= 0.8 * payload["rate_per_s"] * 30
    assert payload["memories_stored"] > 0
    assert payload["max_lag"] >= 0 and isinstance(payload["max_lag"], int)
