"""Integration fixtures: one real Kafka broker per test session, started from `infra/` (or reused).

Set `MEMLANE_KAFKA_BOOTSTRAP` to run against a broker that is already up; otherwise a KRaft
single-node broker is formatted in a temporary directory on random loopback ports, and stopped
(and checked gone) when the session ends. Each test gets its own uuid-named topics.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from confluent_kafka.admin import AdminClient

from streams.broker import LocalBroker
from streams.broker.local import _process_alive
from streams.kafka.provision import provision
from streams.kafka.topics import topic_catalogue
from streams.settings import BrokerSettings, Settings, TopicNames

USED_GROUPS_FILE = "consumer-groups-used.txt"


@pytest.fixture(scope="session")
def broker_bootstrap(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    external = os.environ.get("MEMLANE_KAFKA_BOOTSTRAP")
    if external:
        yield external
        return
    data_dir = tmp_path_factory.mktemp("kafka")
    broker = LocalBroker(BrokerSettings(data_dir=data_dir, port=0, controller_port=0, heap="512m"))
    status = broker.start()
    print(f"\nbroker for tests: {status.bootstrap} (started in {status.startup_s:.1f}s)")
    try:
        yield status.bootstrap
    finally:
        pid = broker.pid()
        broker.stop()
        assert pid is None or not _process_alive(pid), "the test broker outlived the session"


@pytest.fixture
def topic_names() -> TopicNames:
    suffix = uuid.uuid4().hex[:10]
    base = TopicNames()
    return TopicNames(**{field: f"test.{suffix}.{getattr(base, field)}" for field in TopicNames.model_fields})


@pytest.fixture
def kafka_settings(broker_bootstrap: str, topic_names: TopicNames, tmp_path: Path) -> Settings:
    """Settings pointing at the session broker, with this test's own topics (provisioned) and data dir."""
    settings = Settings(
        kafka_bootstrap=broker_bootstrap,
        topics=topic_names,
        data_dir=tmp_path / "memlane",
        broker=BrokerSettings(default_partitions=3),
    )
    report = provision(AdminClient(settings.kafka_config()), topic_catalogue(settings))
    assert len(report.created) == len(topic_catalogue(settings))
    return settings


def group_id(name: str) -> str:
    """A uuid-suffixed consumer group id for a test."""
    return f"test-{name}-{uuid.uuid4().hex[:8]}"
