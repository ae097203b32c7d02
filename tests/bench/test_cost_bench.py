"""`memlane bench cost --quick` end to end on the session broker: the pipeline's paid tokens against the baseline."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from streams.bench.cost_baseline import CONTEXT_HEADING, EVERY, baseline_windows, context_line
from streams.bench.cost_bench import BASELINE, RATE_ENV, configured_rate
from streams.cli import app
from streams.ingest.turn_files import InputFormat, load_turns

RATE = 0.3
"""High enough that the first conversation's two dozen requests send a handful to Claude."""


@pytest.mark.slow  # a whole pipeline run per baseline (~45 s): make test-all runs it
def test_cost_bench_counts_paid_tokens_against_the_every_3_turns_baseline(
    broker_bootstrap: str, tmp_path: Path, locomo_path: Path
) -> None:
    env = {"MEMLANE_KAFKA_BOOTSTRAP": broker_bootstrap, RATE_ENV: str(RATE), "COLUMNS": "200"}
    args = ["bench", "cost", "--quick", "--data", str(locomo_path), "--results-dir", str(tmp_path)]
    result = CliRunner().invoke(app, args, env=env)
    assert result.exit_code == 0, result.output
    payload = json.loads((tmp_path / "cost.json").read_text())
    for key in ("paid_tokens_per_100_turns", "baseline_paid_tokens_per_100_turns", "paid_token_reduction"):
        assert isinstance(payload[key], float), key
    assert payload["local_failure_rate"] == RATE
    assert abs(payload["fallback_rate"] - RATE) < 0.15, "the failing share is hash-chosen: near, not equal"
    assert payload["paid_tokens_per_100_turns"] > 0 and payload["paid_usd_per_100_turns"] > 0
    assert payload["local_tokens_per_100_turns"] > 0
    assert 0.0 < payload["paid_token_reduction"] < 1.0
    assert payload["baseline_paid_tokens_per_100_turns"] > payload["paid_tokens_per_100_turns"]
    assert payload["accounting"] == "ALL-TURNS-ACCOUNTED"
    assert payload["parked"] == 0, "every request the local model failed was drained to Claude"
    dlq = payload["dlq"]
    assert dlq["drained"] == dlq["dead_lettered_requests"] == round(payload["fallback_rate"] * payload["requests"])
    assert {row["error_class"] for row in dlq["failures"]} == {"invalid_json"}
    assert payload["baseline_calls"] == -(-payload["turns"] // EVERY)
    arms = [row["arm"] for row in payload["rows"]]
    assert arms == ["pipeline, 30% local failures", f"{BASELINE}", f"{BASELINE}, no context"]
    assert payload["baseline_paid_tokens_per_100_turns"] > payload["no_context_paid_tokens_per_100_turns"]


def test_baseline_windows_carry_the_conversation_so_far(locomo_path: Path) -> None:
    turns, _ = load_turns(locomo_path, InputFormat.LOCOMO, tenant_id="cost", conversations=["conv-26"])
    windows = list(baseline_windows(turns[:10], prompt_tokens=100_000, chars_per_token=4.0))
    assert [len(request.turns) for request, _, _ in windows] == [3, 3, 3, 1]
    assert windows[0][1] == "", "the first window has no conversation before it"
    last_request, last_context, capped = windows[-1]
    assert last_context == "\n".join((CONTEXT_HEADING, *(context_line(turn) for turn in turns[:9])))
    assert last_request.turns[0].turn_index == turns[9].turn_index and not capped
    tight = list(baseline_windows(turns[:10], prompt_tokens=200, chars_per_token=4.0))
    assert tight[-1][2] and len(tight[-1][1]) <= len(last_context), "the oldest turns go first when it does not fit"


@pytest.mark.parametrize(("raw", "rate"), [("", 0.10), ("0.25", 0.25), ("1", 1.0)])
def test_the_failure_rate_comes_from_the_environment(monkeypatch: pytest.MonkeyPatch, raw: str, rate: float) -> None:
    monkeypatch.setenv(RATE_ENV, raw)
    assert configured_rate() == rate


def test_a_bad_failure_rate_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(RATE_ENV, "1.5")
    result = CliRunner().invoke(app, ["bench", "cost", "--quick"])
    assert result.exit_code != 0 and RATE_ENV in result.output
