"""`memlane broker start|stop|status` is idempotent; Kafka's ConsumerGroupCommand from infra/ sees our groups."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Callable
from pathlib import Path

from confluent_kafka import Producer
from typer.testing import CliRunner

from streams.broker import LocalBroker
from streams.broker.local import _process_alive
from streams.cli import app
from streams.kafka.consumer import make_consumer
from streams.settings import BrokerSettings, Settings

REPO_ROOT = Path(__file__).resolve().parents[3]


def test_broker_commands_are_idempotent(tmp_path: Path) -> None:
    env = {
        "MEMLANE_BROKER__DATA_DIR": str(tmp_path / "kafka"),
        "MEMLANE_BROKER__PORT": "0",
        "MEMLANE_BROKER__CONTROLLER_PORT": "0",
        "MEMLANE_BROKER__HEAP": "384m",
    }
    runner = CliRunner()
    try:
        assert runner.invoke(app, ["broker", "status"], env=env).exit_code == 3
        first = runner.invoke(app, ["broker", "start"], env=env)
        assert first.exit_code == 0 and "broker started" in first.output, first.output
        second = runner.invoke(app, ["broker", "start"], env=env)
        assert second.exit_code == 0 and "already running" in second.output
        status = runner.invoke(app, ["broker", "status", "--json"], env=env)
        assert status.exit_code == 0
        state = json.loads(status.stdout)
        assert state["running"] is True and state["kafka_version"].startswith("4.")
        pid = state["pid"]
        assert runner.invoke(app, ["broker", "stop"], env=env).stdout.strip() == "broker stopped"
        assert not _process_alive(pid)
        assert runner.invoke(app, ["broker", "stop"], env=env).stdout.strip() == "broker was not running"
        restarted = runner.invoke(app, ["broker", "start"], env=env)
        assert restarted.exit_code == 0, restarted.output
        saved = json.loads((tmp_path / "kafka" / "broker.json").read_text())
        assert saved["port"] == int(state["bootstrap"].split(":")[1]), "a restart reuses the formatted ports"
    finally:
        LocalBroker(BrokerSettings(data_dir=tmp_path / "kafka")).stop()


def test_consumer_group_command_lists_our_groups(kafka_settings: Settings, new_group_id: Callable[[str], str]) -> None:
    group = new_group_id("cgc")
    producer = Producer(kafka_settings.kafka_config())
    producer.produce(kafka_settings.topics.turns, value=b"x", key=b"k")
    assert producer.flush(30) == 0
    consumer = make_consumer(kafka_settings.kafka, group)
    consumer.subscribe([kafka_settings.topics.turns])
    got = None
    for _ in range(60):
        got = consumer.poll(0.5)
        if got is not None and got.error() is None:
            break
    assert got is not None and got.error() is None
    consumer.commit(message=got, asynchronous=False)
    consumer.close()
    tool = REPO_ROOT / "infra" / "kafka" / "bin" / "kafka-consumer-groups"
    listed = subprocess.run(
        [str(tool), "--bootstrap-server", kafka_settings.kafka_bootstrap, "--list"],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    assert group in listed.stdout.split()
    described = subprocess.run(
        [str(tool), "--bootstrap-server", kafka_settings.kafka_bootstrap, "--describe", "--group", group],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    assert kafka_settings.topics.turns in described.stdout
