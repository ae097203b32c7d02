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
from scram_support import CANARY_PASSWORD, CANARY_USER, settings_on
from typer.testing import CliRunner

from streams.broker import BrokerSettings, BrokerStatus, LocalBroker
from streams.broker.local import _process_alive
from streams.cli import app
from streams.kafka.provision import provision
from streams.settings import Settings


@pytest.fixture(scope="session")
def scram_broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[LocalBroker, BrokerStatus]]:
    """Started the way a person does: `memlane broker start --auth scram`, the user and password from the env."""
    data_dir = tmp_path_factory.mktemp("kafka-scram")
    env = {
        "MEMLANE_BROKER__DATA_DIR": str(data_dir),
        "MEMLANE_BROKER__PORT": "0",
        "MEMLANE_BROKER__CONTROLLER_PORT": "0",
        "MEMLANE_BROKER__HEAP": "384m",
        "MEMLANE_SECURITY_PROTOCOL": "SASL_SSL",
        "MEMLANE_SASL_MECHANISM": "SCRAM-SHA-512",
        "MEMLANE_SASL_USERNAME": CANARY_USER,
        "MEMLANE_SASL_PASSWORD": CANARY_PASSWORD,
        "COLUMNS": "300",
    }
    broker = LocalBroker(BrokerSettings(data_dir=data_dir, auth="scram"))
    try:
        started = CliRunner().invoke(app, ["broker", "start", "--auth", "scram"], env=env)
        print(f"\n{started.output}")
        assert started.exit_code == 0, started.output
        assert "MEMLANE_SECURITY_PROTOCOL=SASL_SSL" in started.output and CANARY_PASSWORD not in started.output
        status = broker.status()
        assert status.running and status.auth == "scram" and status.ca_location is not None
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
