"""kill -9 a processors worker mid-stream, restart it: every turn accounted for, no id with two contents."""

from __future__ import annotations

import signal
import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from processor_worker_support import Worker, make_turns, publish, read_outputs, wait_for, worker_env

from streams.settings import Settings

FAULTS = Path(__file__).resolve().parent / "faults"


@pytest.mark.parametrize(
    ("restart_on", "slow_changelog_s"),
    [("same-data-dir", "0"), ("empty-data-dir", "0.15")],
    ids=["same-host", "new-host-slow-changelog"],
)
def test_kill_9_mid_stream_then_restart_loses_and_changes_nothing(
    kafka_settings: Settings,
    new_group_id: Callable[[str], str],
    start_worker: Callable[..., Worker],
    tmp_path: Path,
    *,
    restart_on: str,
    slow_changelog_s: str,
) -> None:
    """The restart either reuses the killed worker's RocksDB directory or starts empty (restores from the
    changelog only, as on a new host). In the second case the killed worker's changelog producer is slowed
    (`faults/sitecustomize.py`), as on an overloaded host; before `state_table` and `offset_guard` this
    variant lost turns in 5 of 5 runs."""
    turns = make_turns(conversations=6, per_conversation=150)
    app_id = new_group_id("proc-kill")
    env = worker_env(kafka_settings, app_id, tmp_path / "rocksdb", batch_size="25")
    slowed = {**env, "PYTHONPATH": str(FAULTS), "TEST_FAULT_SLOW_CHANGELOG_S": slow_changelog_s}
    first = start_worker(slowed)
    wait_for(lambda: any(first.assignments()), 60, "the first worker's partitions")

    # publish at a steady pace in the background, so the worker is busy when it is killed
    def paced() -> None:
        for start in range(0, len(turns), 50):
            publish(kafka_settings, turns[start : start + 50])
            time.sleep(0.1)

    publisher = threading.Thread(target=paced, name="paced-publisher")
    publisher.start()
    wait_for(lambda: len(read_outputs(kafka_settings).skips) >= 40, 60, "the first outputs", interval=0.1)
    first.process.send_signal(signal.SIGKILL)
    assert first.wait(10) == -signal.SIGKILL
    at_kill = read_outputs(kafka_settings)
    publisher.join(60)
    assert not publisher.is_alive()

    second_dir = tmp_path / ("rocksdb" if restart_on == "same-data-dir" else "rocksdb-new-host")
    second = start_worker(worker_env(kafka_settings, app_id, second_dir, batch_size="25"), "--idle-exit", "4")
    assert second.wait(120) == 0, second.log()[-3000:]
    outputs = read_outputs(kafka_settings)

    verdicts = outputs.verdicts()
    covered_at_kill = len(at_kill.verdicts())
    assert 0 < covered_at_kill < len(turns), "the kill landed mid-stream"
    missing = [(t.conversation_id, t.turn_index) for t in turns if not verdicts.get((t.conversation_id, t.turn_index))]
    assert not missing, (
        f"{len(missing)} turn(s) in no request and no skip record, e.g. {missing[:5]}\n"
        f"--- first worker (killed) ---\n{first.log()[-4000:]}\n--- second worker ---\n{second.log()[-6000:]}"
    )
    assert outputs.conflicting_ids() == [], "an id was delivered twice with different contents"
    twice = {key: ids for key, ids in verdicts.items() if len(ids) > 1}
    assert not twice, f"turns with two different verdicts: {list(twice.items())[:3]}"
    assert not outputs.quarantined
    replayed = sum(
        int(line.split("turns=", 1)[1].split()[0])
        for line in second.log().splitlines()
        if "processors.replayed" in line
    )
    print(
        f"\nkill -9 after {covered_at_kill}/{len(turns)} turns had a verdict; after restart all {len(turns)} "
        f"accounted in {len({r.request_id for _, r in outputs.requests})} requests + "
        f"{len({s.skip_id for _, s in outputs.skips})} skips; identical re-deliveries: {outputs.duplicates()}; "
        f"turns replayed after the restart and recognised as already applied: {replayed}; "
        f"offset gaps sought back: {second.log().count('processors.offset_gap')}"
    )
