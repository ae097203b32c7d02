"""A slow consumer: Ollama answers in 3 s, one call at a time, so the extraction worker falls behind the turns
arriving at a fixed rate and holds its commits for a whole batch of 8. The stall detector (`memlane lag`'s monitor)
reports its partitions as stalled, with their lag, while every other worker is keeping up; once Ollama is
fast again the lag drains, the stalls clear, and every turn is accounted for."""

from __future__ import annotations

from pathlib import Path

import pytest
from live_support import LivePipeline, assert_accounted, counts
from scenario_support import record

from streams.settings import Settings
from streams.wiring.fleet import PIPELINE

pytestmark = pytest.mark.slow  # a fault scenario: make test-all, tests/scenarios/run

STALL_AFTER_S = 8.0


def test_the_stall_detector_reports_a_slow_consumer(kafka_settings: Settings, tmp_path: Path) -> None:
    slow = {"ollama_parallelism": 1, "worker_batch_size": 8, "request_timeout_s": 20.0}
    with LivePipeline(kafka_settings, tmp_path, failing_share=0.0, ollama_latency_s=3.0, extraction=slow) as live:
        live.fleet.start_all()
        load = live.load(rate_per_s=12)
        watch = live.stall_watch(STALL_AFTER_S)
        stalled: dict[str, int] = {}

        def extract_stalls() -> bool:
            for name in PIPELINE:
                for stall in live.stalled(name, watch):
                    stalled[name] = max(stalled.get(name, 0), stall.lag)
            return "extract" in stalled

        live.wait_for("the stall detector to report extract", extract_stalls, timeout_s=120)
        live.note(f"stalled (lag per worker): {stalled}")
        live.ollama.script.latency = 0.02
        load.stop()
        took = live.wait_for(
            "extract to catch up", lambda: live.lag("extract") == 0 and not live.stalled("extract", watch)
        )
        live.note(f"Ollama fast again: extract caught up in {took:.1f}s")
        report = live.finish()
    record(
        "slow consumer: the stall detector reports it",
        **counts(report, live.published, stalled_workers=",".join(sorted(stalled)), max_lag=max(stalled.values())),
    )
    assert_accounted(report, live.published)
    assert set(stalled) == {"extract"}, f"only the slow worker stalls: {stalled}"
