"""The broker goes away under load and comes back: stopped cleanly, and killed with SIGKILL. Turns arrive at a
fixed rate throughout; the broker (one of the test's own, on the same ports and data directory) is down for some
seconds, while every worker keeps running (producers retry within `MEMLANE_DELIVERY_TIMEOUT_S`, consumers
reconnect). Once it is back the pipeline drains, every turn is accounted for exactly once and no memory id is
stored twice."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from live_support import LivePipeline, assert_accounted, counts
from own_broker import OwnBroker
from scenario_support import record

pytestmark = pytest.mark.slow  # a fault scenario: make test-all, tests/scenarios/run

OUTAGE_S = 6.0
RATE = 10.0


def _down_for(live: LivePipeline, seconds: float) -> None:
    """Wait out the outage, failing as soon as a worker exits on its own."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        crashed = live.fleet.unexpected()
        assert not crashed, f"{crashed[0].name} exited during the outage:\n{crashed[0].log_tail()}"
        time.sleep(0.25)


@pytest.mark.parametrize("how", ["stop", "kill -9"])
def test_broker_outage_under_load(how: str, tmp_path: Path) -> None:
    with OwnBroker(tmp_path / "kafka") as broker, LivePipeline(broker.settings(tmp_path), tmp_path) as live:
        live.note(f"own broker on {broker.bootstrap}")
        live.fleet.start_all()
        live.note("pipeline up")
        load = live.load(rate_per_s=RATE)
        live.wait_busy("sink-qdrant")
        before = sum(load.sent for load in live.loads)
        if how == "stop":
            broker.stop()
        else:
            broker.kill()
        live.note(f"broker {how} after {before} turns sent")
        _down_for(live, OUTAGE_S)
        startup = broker.start()
        live.note(f"broker back after {OUTAGE_S:.0f}s down (started in {startup:.1f}s)")
        mark = live.committed("sink-qdrant")
        live.wait_busy("sink-qdrant", beyond=mark)
        live.note("memories flow again")
        load.stop()
        live.note(f"load stopped after {live.published} turns")
        report = live.finish()
        live.note("drained and verified")
        survivors = len(live.fleet.members)
    record(
        f"broker {how} under load, restart",
        **counts(
            report, live.published, memories=report.memories, outage_s=OUTAGE_S, workers_survived=survivors, restarts=0
        ),
    )
    assert_accounted(report, live.published)
    assert report.memories_stored > 0, "memories were made (else no id could be stored twice)"
