"""The app's settings section from the environment, and the Faust options and credentials built from Settings."""

from __future__ import annotations

from pathlib import Path

import pytest
from faust.auth import SASLCredentials, SSLCredentials
from pydantic import SecretStr

from schemas.errors import ConfigError
from streams.processor_app.config import ProcessorAppSettings, broker_credentials, faust_options, ticks_topic_name
from streams.settings import Settings
from streams.wiring.workers import processors_config


def test_section_is_read_from_memlane_processor_app_variables(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MEMLANE_PROCESSOR_APP__APP_ID", "procs-eu")
    monkeypatch.setenv("MEMLANE_PROCESSOR_APP__DRAIN_FLUSH_S", "2.5")
    monkeypatch.setenv("MEMLANE_PROCESSOR_APP__EMBEDDER", "none")
    loaded = Settings().processor_app
    assert (loaded.app_id, loaded.drain_flush_s, loaded.embedder) == ("procs-eu", 2.5, "none")
    assert ticks_topic_name(loaded) == "procs-eu-ticks"
    monkeypatch.setenv("MEMLANE_PROCESSOR_APP__BATCH_SIZE", "0")
    with pytest.raises(ValueError, match="batch_size"):
        Settings()


def test_faust_options_follow_the_settings(tmp_path: Path) -> None:
    settings = Settings(kafka_bootstrap="10.0.0.1:9092, 10.0.0.2:9092", state_dir=tmp_path, topic_replication_factor=3)
    app = ProcessorAppSettings(session_timeout_s=6.0)
    options = faust_options(processors_config(settings, app), partitions=12)
    assert options["broker"] == ["kafka://10.0.0.1:9092", "kafka://10.0.0.2:9092"]
    assert options["topic_partitions"] == 12 and options["topic_replication_factor"] == 3
    assert options["processing_guarantee"] == "at_least_once"
    assert options["store"] == "rocksdb://" and options["datadir"] == str(tmp_path.resolve() / "processors")
    assert options["broker_heartbeat_interval"] == 2.0
    assert "broker_credentials" not in options
    own = ProcessorAppSettings(data_dir=tmp_path / "w2")
    assert processors_config(settings, own).table_dir == (tmp_path / "w2").resolve()
    with pytest.raises(ConfigError):
        faust_options(processors_config(settings.model_copy(update={"kafka_bootstrap": " , "}), app), partitions=1)


def test_credentials_mirror_the_librdkafka_security_settings() -> None:
    assert broker_credentials(Settings().kafka) is None
    sasl = broker_credentials(
        Settings(
            security_protocol="SASL_SSL",
            sasl_mechanism="SCRAM-SHA-512",
            sasl_username="svc",
            sasl_password=SecretStr("s3cret"),
        ).kafka
    )
    assert isinstance(sasl, SASLCredentials)
    assert (sasl.username, sasl.password, sasl.mechanism.value) == ("svc", "s3cret", "SCRAM-SHA-512")
    assert sasl.ssl_context is not None
    assert isinstance(broker_credentials(Settings(security_protocol="SSL").kafka), SSLCredentials)
    with pytest.raises(ConfigError, match="OAUTHBEARER"):
        broker_credentials(Settings(security_protocol="SASL_PLAINTEXT", sasl_mechanism="OAUTHBEARER").kafka)
