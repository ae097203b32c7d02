"""Settings read the environment, keep secrets masked, and reject unusable security; error headers round trip."""

from __future__ import annotations

import pytest

from schemas.errors import ConfigError
from streams.kafka.headers import ErrorInfo, without_error_headers
from streams.settings import Settings


def test_environment_and_nested_sections(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MEMLANE_KAFKA_BOOTSTRAP", "10.0.0.1:9092,10.0.0.2:9092")
    monkeypatch.setenv("MEMLANE_TOPICS__TURNS", "custom.turns")
    monkeypatch.setenv("MEMLANE_BROKER__PORT", "19092")
    settings = Settings()
    assert settings.kafka_config()["bootstrap.servers"] == "10.0.0.1:9092,10.0.0.2:9092"
    assert settings.topics.turns == "custom.turns" and settings.broker.port == 19092
    assert settings.topic_catalogue()[0].name == "custom.turns"


def test_secrets_are_masked_but_reach_librdkafka(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MEMLANE_SECURITY_PROTOCOL", "SASL_SSL")
    monkeypatch.setenv("MEMLANE_SASL_MECHANISM", "SCRAM-SHA-512")
    monkeypatch.setenv("MEMLANE_SASL_USERNAME", "svc")
    monkeypatch.setenv("MEMLANE_SASL_PASSWORD", "hunter2")
    monkeypatch.setenv("MEMLANE_ANTHROPIC_API_KEY", "sk-ant-secret")
    monkeypatch.setenv("MEMLANE_API_KEYS", '{"search-key-123": "acme"}')
    settings = Settings()
    dumped = str(settings.safe_dump()) + repr(settings) + str(settings)
    assert "hunter2" not in dumped and "sk-ant-secret" not in dumped and "search-key-123" not in dumped
    assert settings.api_keys == {"search-key-123": "acme"}
    conf = settings.kafka_config()
    assert conf["sasl.password"] == "hunter2" and conf["sasl.mechanism"] == "SCRAM-SHA-512"


def test_sasl_without_credentials_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="MEMLANE_SASL_MECHANISM"):
        Settings(security_protocol="SASL_SSL")
    with pytest.raises(ConfigError, match="USERNAME"):
        Settings(security_protocol="SASL_PLAINTEXT", sasl_mechanism="PLAIN")


def test_error_headers_round_trip() -> None:
    info = ErrorInfo(
        stage="extract",
        error_class="timeout",
        message="x" * 5000,
        topic="t",
        partition=2,
        offset=99,
        attempts=3,
        timestamp_ms=1700000000000,
        model="qwen2.5:7b",
    )
    headers = [*info.to_headers(), ("traceparent", b"00-abc")]
    back = ErrorInfo.from_headers(headers)
    assert back is not None
    assert back.model == "qwen2.5:7b"
    assert ErrorInfo.from_headers(info.to_headers()[:8]).model == "", "parked before the model header: none"  # type: ignore[union-attr]
    assert back.error_class == "timeout" and back.partition == 2 and back.offset == 99 and back.attempts == 3
    assert len(back.message) == 2000
    assert {k for k, _ in info.to_headers()} >= {
        f"memlane.error.{k}" for k in ("stage", "class", "message", "topic", "partition", "offset", "attempts")
    }
    assert without_error_headers(headers) == [("traceparent", b"00-abc")]
    assert ErrorInfo.from_headers([("other", b"1")]) is None
