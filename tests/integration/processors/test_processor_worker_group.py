"""Two processors workers share the turns partitions (one through `memlane worker processors`)."""

from __future__ import annotations

import signal
import sys
from collections.abc import Callable
from pathlib import Path

import httpx
from confluent_kafka import ConsumerGroupState
from confluent_kafka.admin import AdminClient
from processor_worker_support import Worker, accounted, make_turns, publish, read_outputs, wait_for, worker_env
from prometheus_client.parser import text_string_to_metric_families

from processors.tokens import turn_tokens
from streams.broker.local import free_port
from streams.settings import Settings


def _latest(worker: Worker) -> list[int]:
    found = worker.assignments()
    return found[-1] if found else []


def test_two_workers_split_the_partitions_and_account_for_every_turn(
    kafka_settings: Settings,
    new_group_id: Callable[[str], str],
    start_worker: Callable[..., Worker],
    tmp_path: Path,
) -> None:
    app_id = new_group_id("proc-pair")
    cli = [str(Path(sys.executable).with_name("memlane")), "worker", "processors"]
    ports = (free_port(), free_port())
    envs = [
        {
            **worker_env(kafka_settings, app_id, tmp_path / f"rocksdb-{i}", drain_flush_s="1.5"),
            "MEMLANE_METRICS_PORT": str(port),
        }
        for i, port in enumerate(ports)
    ]
    first = start_worker(envs[0], command=cli)
    second = start_worker(envs[1])

    def split() -> bool:
        one, two = set(_latest(first)), set(_latest(second))
        return bool(one) and bool(two) and not one & two and one | two == {0, 1, 2}

    wait_for(split, 90, "both workers to own partitions")
    admin = AdminClient(kafka_settings.kafka_config())
    group = admin.describe_consumer_groups([app_id])[app_id].result(30)
    assert group.state == ConsumerGroupState.STABLE
    owned = [
        {tp.partition for tp in member.assignment.topic_partitions if tp.topic == kafka_settings.topics.turns}
        for member in group.members
    ]
    assert len(owned) == 2 and all(owned), f"group members and their turns partitions: {owned}"

    turns = make_turns(conversations=9, per_conversation=30, prefix="pair")
    publish(kafka_settings, turns)
    wait_for(lambda: accounted(kafka_settings, turns), 90, "every turn in a request or a skip record")
    metrics = [scrape(port) for port in ports]
    for worker in (first, second):
        worker.process.send_signal(signal.SIGTERM)
    assert first.wait(60) == 0, first.log()[-3000:]
    assert second.wait(60) == 0, second.log()[-3000:]

    outputs = read_outputs(kafka_settings)
    assert outputs.conflicting_ids() == []
    assert all(len(ids) == 1 for ids in outputs.verdicts().values())
    conversations = {r.conversation_id for _, r in outputs.requests} | {s.conversation_id for _, s in outputs.skips}
    assert conversations == {t.conversation_id for t in turns}

    # the counters of both workers reconcile with what is on the topics
    def total(name: str) -> float:
        return sum(value for worker_metrics in metrics for key, value in worker_metrics.items() if key[0] == name)

    assert all(m.get(("memlane_turns_in_total", ())) for m in metrics), "both workers processed turns"
    assert total("memlane_turns_in_total") == len(turns)
    assert total("memlane_tokens_seen_total") == sum(turn_tokens(t) for t in turns)
    assert total("memlane_turns_skipped_total") == len(outputs.skips)
    assert total("memlane_requests_out_total") == len(outputs.requests)
    assert total("memlane_tokens_forwarded_total") == sum(r.token_count for _, r in outputs.requests)
    reasons = {key[1] for m in metrics for key in m if key[0] == "memlane_turns_skipped_total"}
    assert {dict(labels)["stage"] for labels in reasons} >= {"change_detection", "priority"}


def scrape(port: int) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """The `memlane_*` samples a worker serves on `/metrics`: (name, sorted labels) -> value."""
    text = httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=10).text
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
        if sample.name.startswith("memlane_") and sample.name.endswith("_total")
    }
