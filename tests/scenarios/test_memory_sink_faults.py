"""The memory sink failing under load: first its engine (every write fails), then its disk (a 96 MB ext4 image
filled up, or the free space injected where the test may not mount one). Either way the sink holds its commits
(the memories wait in Kafka: the stall detector sees the partitions stand still), stays up, and catches up when
the fault ends; the shard opens afterwards, every turn is accounted for and no memory id is stored twice."""

from __future__ import annotations

from pathlib import Path

import pytest
from live_support import FAULTS, LivePipeline, assert_accounted, counts
from scenario_support import record
from tiny_filesystem import fill, tiny_filesystem

from streams.settings import Settings

pytestmark = pytest.mark.slow  # a fault scenario: make test-all, tests/scenarios/run

RESERVE_MB = 32.0


def test_engine_error_then_full_disk_is_backpressure_without_loss(kafka_settings: Settings, tmp_path: Path) -> None:
    broken, free_file = tmp_path / "store-broken", tmp_path / "disk-free-mb"
    env = {"PYTHONPATH": str(FAULTS), "TEST_FAULT_STORE_FAIL_FILE": str(broken)}
    sinks = {"edge_min_free_mb": RESERVE_MB, "edge_disk_retry_s": 1.0}
    with tiny_filesystem(tmp_path / "qdrant", size_mb=96) as mounted:
        if not mounted:
            env["TEST_FAULT_DISK_FREE_FILE"] = str(free_file)
        with LivePipeline(kafka_settings, tmp_path, env=env, sinks=sinks) as live:
            live.fleet.start_all()
            load = live.load(rate_per_s=12)
            stalls = {}
            for fault in ("engine error", "full disk"):
                live.wait_busy("sink-qdrant")
                if fault == "engine error":
                    broken.touch()
                elif mounted:
                    filler = fill(tmp_path / "qdrant", leave_mb=RESERVE_MB / 2)
                else:
                    free_file.write_text(str(RESERVE_MB / 2))
                live.note(f"{fault}: on")
                watch = live.stall_watch(6.0)
                live.wait_for(
                    f"the stall detector to see sink-qdrant stand still ({fault})",
                    lambda w=watch: bool(live.stalled("sink-qdrant", w)),
                )
                held = live.lag("sink-qdrant")
                stalls[fault] = held
                live.note(f"{fault}: sink-qdrant stalled with {held} memory batches waiting in Kafka")
                if fault == "engine error":
                    broken.unlink()
                elif mounted:
                    filler.unlink()
                else:
                    free_file.unlink()
                took = live.wait_for(f"sink-qdrant to catch up ({fault})", lambda h=held: live.lag("sink-qdrant") < h)
                live.note(f"{fault}: off, sink-qdrant moving again after {took:.1f}s")
            load.stop()
            report = live.finish()
            log = "".join(m.log_path.read_text(errors="replace") for m in live.fleet.members if m.name == "sink-qdrant")
    record(
        "memory sink: engine error, then full disk",
        **counts(
            report,
            live.published,
            disk="ext4 96 MB" if mounted else "injected free space",
            waiting_at_engine_error=stalls["engine error"],
            waiting_at_full_disk=stalls["full disk"],
            restarts=0,
        ),
    )
    assert_accounted(report, live.published)
    assert "injected engine fault" in log and "EDGE_MIN_FREE_MB" in log, "both faults were met and logged"
    assert "No space left on device" not in log, "the engine never met the full disk"
