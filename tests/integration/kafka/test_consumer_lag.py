"""Consumer lag on the real broker: the figures Kafka's own `kafka-consumer-groups --describe` prints, under load,
with a stopped consumer (lag grows, stall reported) and a restarted one (the stall clears)."""

from __future__ import annotations

import json
import subprocess
import threading
import time
from pathlib import Path

from confluent_kafka import Consumer
from prometheus_client import REGISTRY
from typer.testing import CliRunner

from streams.cli import app
from streams.kafka.consumer import make_consumer
from streams.kafka.consumer_lag import CAUGHT_UP, LAGGING, STALLED, LagMonitor, PartitionLag
from streams.kafka.producer import ReliableProducer
from streams.settings import Settings

GROUPS_TOOL = Path(__file__).parents[3] / "infra" / "kafka" / "bin" / "kafka-consumer-groups"


def _produce(settings: Settings, topic: str, count: int, *, age_s: float = 0.0) -> None:
    producer = ReliableProducer(settings.kafka)
    stamp = int((time.time() - age_s) * 1000)
    for n in range(count):
        producer.send(topic, f"message {n}".encode(), key=f"k-{n}", timestamp_ms=stamp)
    producer.flush()
    producer.close()


def _consume(consumer: Consumer, count: int) -> int:
    """Read up to `count` messages and commit them; how many were read."""
    read = 0
    deadline = time.monotonic() + 30
    while read < count and time.monotonic() < deadline:
        for message in consumer.consume(num_messages=count - read, timeout=0.5):
            if message.error() is None:
                consumer.store_offsets(message)
                read += 1
    if read:
        consumer.commit(asynchronous=False)
    return read


def _kafka_describe(settings: Settings, group: str) -> dict[tuple[str, int], tuple[int, int, int]]:
    """`{(topic, partition): (current offset, log end offset, lag)}` as Kafka's tool prints them."""
    out = subprocess.run(
        [str(GROUPS_TOOL), "--bootstrap-server", settings.kafka_bootstrap, "--describe", "--group", group],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    ).stdout
    rows: dict[tuple[str, int], tuple[int, int, int]] = {}
    header: list[str] = []
    for line in out.splitlines():
        cells = line.split()
        if "CURRENT-OFFSET" in cells:
            header = cells
            continue
        if header and len(cells) >= len(header) - 3 and cells[0] == group:
            row = dict(zip(header, cells, strict=False))
            rows[(row["TOPIC"], int(row["PARTITION"]))] = (
                int(row["CURRENT-OFFSET"]),
                int(row["LOG-END-OFFSET"]),
                int(row["LAG"]),
            )
    return rows


def _ours(rows: list[PartitionLag]) -> dict[tuple[str, int], tuple[int, int, int]]:
    return {(r.topic, r.partition): (r.committed, r.log_end, r.lag) for r in rows if r.committed is not None}  # type: ignore[misc]


def test_lag_agrees_with_kafka_and_tells_stopped_and_restarted_consumers(
    kafka_settings: Settings, new_group_id: object
) -> None:
    settings = kafka_settings
    topic = settings.topics.turns
    group = new_group_id("lag")  # type: ignore[operator]
    _produce(settings, topic, 90, age_s=120.0)
    consumer = make_consumer(settings.kafka, group)
    consumer.subscribe([topic])
    assert _consume(consumer, 30) == 30

    monitor = LagMonitor(settings.kafka, stall_after_s=3.0)
    stop = threading.Event()

    def load() -> None:
        while not stop.wait(0.2):
            _produce(settings, topic, 5)

    loader = threading.Thread(target=load)
    loader.start()
    try:
        live = monitor.measure({group: [topic]})
        assert {r.state for r in live} <= {LAGGING, CAUGHT_UP} and any(r.state == LAGGING for r in live)
        assert all(r.members == 1 for r in live), "the consumer is a member while it runs"
        _consume(consumer, 10)
    finally:
        stop.set()
        loader.join()
    consumer.close()  # stopped: no member, lag stays

    stopped = monitor.measure({group: [topic]})
    assert _ours(stopped) == _kafka_describe(settings, group), "the same offsets and lag as kafka-consumer-groups"
    assert sum(r.lag for r in stopped) > 0 and all(r.state == STALLED for r in stopped if r.lag)
    oldest = max(r.lag_seconds for r in stopped)
    assert oldest >= 100, "the oldest unconsumed message was produced two minutes ago"
    monitor.export(stopped)
    labels = {"group": group, "topic": topic, "partition": str(stopped[0].partition)}
    assert REGISTRY.get_sample_value("memlane_consumergroup_lag", labels) == stopped[0].lag
    assert REGISTRY.get_sample_value("memlane_partition_stalled", labels) == (1.0 if stopped[0].lag else 0.0)

    _produce(settings, topic, 20)
    grown = monitor.measure({group: [topic]})
    assert sum(r.lag for r in grown) == sum(r.lag for r in stopped) + 20, "the lag of a stopped consumer grows"

    restarted = make_consumer(settings.kafka, group)
    restarted.subscribe([topic])
    _consume(restarted, sum(r.lag for r in grown))
    caught_up = monitor.measure({group: [topic]})
    assert all(r.state == CAUGHT_UP and r.lag == 0 and r.lag_seconds == 0 for r in caught_up), caught_up
    monitor.export(caught_up)
    assert REGISTRY.get_sample_value("memlane_partition_stalled", labels) == 0.0, "the stall clears"
    restarted.close()


def test_a_member_that_stops_committing_is_stalled_after_the_stall_time(
    kafka_settings: Settings, new_group_id: object
) -> None:
    settings = kafka_settings
    topic, group = settings.topics.requests, new_group_id("stall")  # type: ignore[operator]
    _produce(settings, topic, 30)
    consumer = make_consumer(settings.kafka, group)
    consumer.subscribe([topic])
    _consume(consumer, 5)
    monitor = LagMonitor(settings.kafka, stall_after_s=2.0)
    first = monitor.measure({group: [topic]})
    assert any(r.state == LAGGING for r in first)
    consumer.poll(0.1)  # still a member, committing nothing
    time.sleep(2.5)
    later = monitor.measure({group: [topic]})
    assert all(r.state == STALLED for r in later if r.lag) and any(r.members == 1 for r in later)
    consumer.close()


def test_lag_command_prints_the_pipeline_groups(kafka_settings: Settings) -> None:
    _produce(kafka_settings, kafka_settings.topics.turns, 7)
    env = {**kafka_settings.to_env(), "COLUMNS": "250"}
    result = CliRunner().invoke(app, ["lag", "--json"], env=env)
    assert result.exit_code == 0, result.output
    rows = json.loads(result.output)
    processors = [r for r in rows if r["group"] == kafka_settings.processor_app.app_id]
    assert sum(r["lag"] for r in processors) == 7 and all(r["committed"] is None for r in processors)
    assert {r["state"] for r in processors if r["lag"]} == {STALLED}, "nobody consumes: stalled"
    table = CliRunner().invoke(app, ["lag"], env=env)
    assert table.exit_code == 0 and "consumer lag" in table.output
