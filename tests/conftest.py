"""Shared test fixtures: evaluation data, the real Kafka broker, per-test topics, and a thread-leak guard.

Set `MEMLANE_KAFKA_BOOTSTRAP` to run against a broker that is already up; otherwise the first test
that needs Kafka formats a KRaft single-node broker from `infra/` in a temporary directory on random
loopback ports, and it is stopped (and checked gone) when the session ends. Each test gets its own
uuid-named topics.
"""

from __future__ import annotations

import os
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from confluent_kafka.admin import AdminClient
from evaluation_data import data_missing, shared_data_dir

from streams.broker import LocalBroker
from streams.broker.local import _process_alive
from streams.kafka.provision import provision
from streams.settings import BrokerSettings, Settings, TopicNames

REPO_ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="session")
def data_dir() -> Path:
    path = shared_data_dir()
    if not path.exists():
        data_missing("the data dir")
    return path


@pytest.fixture(scope="session")
def locomo_path() -> Path:
    path = shared_data_dir() / "locomo" / "locomo_dev5.json"
    if not path.is_file():
        data_missing("locomo/locomo_dev5.json")
    return path


@pytest.fixture(autouse=True)
def no_leaked_threads() -> Iterator[None]:
    """Fail a test that leaves non-daemon threads running (servers, consumers not closed)."""
    before = {t.ident for t in threading.enumerate()}
    yield
    deadline = time.monotonic() + 5.0
    while True:
        leaked = [t for t in threading.enumerate() if t.ident not in before and t.is_alive() and not t.daemon]
        if not leaked or time.monotonic() > deadline:
            break
        time.sleep(0.05)
    assert not leaked, f"test leaked threads: {[t.name for t in leaked]}"


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
        state_dir=tmp_path / "memlane",
        broker=BrokerSettings(default_partitions=3),
    )
    report = provision(AdminClient(settings.kafka_config()), settings.topic_catalogue())
    assert len(report.created) == len(settings.topic_catalogue())
    return settings


@pytest.fixture
def new_group_id() -> Callable[[str], str]:
    """Makes uuid-suffixed consumer group ids for a test."""

    def make(name: str) -> str:
        return f"test-{name}-{uuid.uuid4().hex[:8]}"

    return make
