"""The authenticated broker of the auth tests: SASL/SCRAM-SHA-512 over TLS, one per session.

`scram_broker` formats a local broker with `auth=scram` (its CA generated into its data directory) on random
loopback ports and lets in the client user of `scram_support.CANARY_PASSWORD`; `scram_settings` are the
settings of a test on it (its own topics and state, credentials and CA from the settings, like any deployment).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from confluent_kafka.admin import AdminClient
from scram_support import scram_client, settings_on

from streams.broker import BrokerSettings, BrokerStatus, LocalBroker
from streams.broker.local import _process_alive
from streams.kafka.provision import provision
from streams.settings import Settings


@pytest.fixture(scope="session")
def scram_broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[LocalBroker, BrokerStatus]]:
    data_dir = tmp_path_factory.mktemp("kafka-scram")
    broker = LocalBroker(
        BrokerSettings(data_dir=data_dir, port=0, controller_port=0, heap="384m", auth="scram"),
        client=scram_client(),
    )
    status = broker.start()
    print(f"\nSCRAM broker for tests: {status.bootstrap} (started in {status.startup_s:.1f}s)")
    try:
        yield broker, status
    finally:
        pid = broker.pid()
        broker.stop()
        assert pid is None or not _process_alive(pid), "the SCRAM broker outlived the session"


@pytest.fixture
def scram_settings(scram_broker: tuple[LocalBroker, BrokerStatus], tmp_path: Path) -> Settings:
    settings = settings_on(scram_broker[1], tmp_path)
    report = provision(AdminClient(settings.kafka_config()), settings.topic_catalogue())
    assert len(report.created) == len(settings.topic_catalogue())
    return settings
