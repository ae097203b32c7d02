"""kill -9 of every worker mid-stream, one after the other, while turns arrive at a fixed rate, then of the
search service; each is restarted (a worker rejoins its group, the service answers again). On the embedded
store the search service runs the memory sink itself (one process owns the shard), so it takes over from
`sink-qdrant`, which leaves first. Every turn ends accounted for exactly once and no memory id is stored twice."""

from __future__ import annotations

from pathlib import Path

from live_support import LivePipeline, assert_accounted, counts
from scenario_support import record

from streams.settings import Settings
from streams.wiring.fleet import PIPELINE

QUESTION = "Where did Maya move?"


def test_kill_9_of_each_worker_mid_stream_then_restart(kafka_settings: Settings, tmp_path: Path) -> None:
    with LivePipeline(kafka_settings, tmp_path) as live:
        live.fleet.start_all()
        live.note("pipeline up")
        load = live.load(rate_per_s=12)
        for name in PIPELINE:
            done = live.wait_busy(name)
            killed = live.fleet.kill(name)
            live.note(f"kill -9 {killed.name}-{killed.number} after {done} committed")
            back = live.fleet.wait_ready(live.fleet.start(name))
            live.note(f"{name} restarted, in its group after {back:.1f}s")
        live.fleet.stop("sink-qdrant")
        live.note("sink-qdrant stopped: serve runs the memory sink from here on")
        serve = live.fleet.start("serve")
        live.fleet.wait_ready(serve)
        before = live.search(serve, QUESTION)
        live.fleet.kill("serve")
        live.note(f"kill -9 serve-1 after answering with {len(before)} hits")
        serve = live.fleet.start("serve")
        back = live.fleet.wait_ready(serve)
        after = live.search(serve, QUESTION)
        live.note(f"serve restarted, answering after {back:.1f}s with {len(after)} hits")
        load.stop()
        live.note(f"load stopped after {live.published} turns")
        report = live.finish()
        live.note("drained and verified")
    kills = len(PIPELINE) + 1
    record("kill -9 each worker mid-stream, restart", **counts(report, live.published, kills=kills, restarts=kills))
    assert_accounted(report, live.published)
    assert after, "the restarted search service answers with memories"
