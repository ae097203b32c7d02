"""Consumer-group rebalance under load: for every worker in turn, a second member joins its group (the
partitions are shared), then the first one leaves with SIGTERM (its partitions move to the newcomer), while
turns arrive at a fixed rate. Every turn ends accounted for exactly once and no memory id is stored twice.

The memory sink is the exception on the embedded store: one process owns its shard (a second sink-qdrant is
refused, by design, naming the owner), so its group is scaled only against a Qdrant server."""

from __future__ import annotations

from pathlib import Path

import pytest
from live_support import LivePipeline, assert_accounted, counts
from scenario_support import record

from streams.settings import Settings
from streams.wiring.fleet import PIPELINE

pytestmark = pytest.mark.slow  # a fault scenario: make test-all, tests/scenarios/run

SCALABLE = tuple(name for name in PIPELINE if name != "sink-qdrant")


def test_add_and_remove_a_member_of_each_group_under_load(kafka_settings: Settings, tmp_path: Path) -> None:
    with LivePipeline(kafka_settings, tmp_path, failing_share=0.2) as live:
        live.fleet.start_all()
        load = live.load(rate_per_s=12)
        for name in SCALABLE:
            first = live.fleet.alive(name)[0]
            second = live.fleet.start(name)
            live.fleet.wait_ready(second)
            live.wait_for(f"two members of {name}", lambda n=name: len(live.fleet.group_members(n)) == 2)
            live.wait_busy(name)
            live.note(f"{name}: {second.client_id} joined, {live.fleet.group_members(name)}")
            code = live.fleet.stop(member=first)
            live.wait_for(f"{name} down to one member", lambda n=name: len(live.fleet.group_members(n)) == 1)
            live.wait_busy(name)
            live.note(f"{name}: {first.client_id} left ({code}), {second.client_id} carries on")
        load.stop()
        report = live.finish()
    record(
        "rebalance: add and remove a member of each group",
        **counts(report, live.published, joined=len(SCALABLE), left=len(SCALABLE)),
    )
    assert_accounted(report, live.published)
