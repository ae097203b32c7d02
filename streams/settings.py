"""The one settings object of memlane (pydantic-settings, environment variables `MEMLANE_*`).

Flat fields cover what operators set most (bootstrap servers, security, registry, directories,
extractor choice, service URLs and keys); tuning knobs of each component live in a nested section
owned by that component's module and are set as `MEMLANE_<SECTION>__<FIELD>`, e.g.
`MEMLANE_PROCESSORS__TOKEN_THRESHOLD=1500`. Secrets are `SecretStr` and never logged: `safe_dump()`
masks them. `kafka_config()` renders the librdkafka dictionary every Kafka client starts from.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from processors.extraction.extraction_settings import ExtractionSettings
from processors.stage_settings import ProcessorSettings
from schemas.errors import ConfigError
from sinks.sink_settings import SinkSettings
from streams.processor_app.app_settings import ProcessorAppSettings


class TopicNames(BaseModel):
    """Names of memlane's topics (`MEMLANE_TOPICS__TURNS=...`)."""

    turns: str = "memlane.turns.v1"
    skipped: str = "memlane.turns.skipped.v1"
    requests: str = "memlane.extraction.requests.v1"
    memories: str = "memlane.memories.v1"
    dlq: str = "memlane.extraction.dlq.v1"
    quarantine: str = "memlane.quarantine.v1"
    usage: str = "memlane.usage.v1"


class BrokerSettings(BaseModel):
    """The local single-node Kafka broker started from `infra/kafka` (`MEMLANE_BROKER__*`)."""

    data_dir: Path = Path(".memlane/kafka")
    port: int = Field(default=9092, ge=0, le=65535)
    controller_port: int = Field(default=9093, ge=0, le=65535)
    heap: str = "768m"
    start_timeout_s: float = 90.0
    stop_timeout_s: float = 60.0
    default_partitions: int = Field(default=6, ge=1)


class Settings(BaseSettings):
    """Everything memlane reads from its environment."""

    model_config = SettingsConfigDict(
        env_prefix="MEMLANE_",
        env_nested_delimiter="__",
        env_file=".env",
        env_file_encoding="utf-8",
        extra="ignore",
        populate_by_name=True,
    )

    # Kafka connection
    kafka_bootstrap: str = "127.0.0.1:9092"
    security_protocol: Literal["PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL"] = "PLAINTEXT"
    sasl_mechanism: Literal["PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512", "OAUTHBEARER"] | None = None
    sasl_username: str | None = None
    sasl_password: SecretStr | None = None
    ssl_ca_location: Path | None = None
    ssl_certificate_location: Path | None = None
    ssl_key_location: Path | None = None
    ssl_key_password: SecretStr | None = None
    client_id: str = "memlane"
    topic_replication_factor: int = Field(default=1, ge=1)
    topic_min_insync_replicas: int = Field(default=1, ge=1)

    # Schema registry (Confluent wire format when set; Avro single-object encoding otherwise)
    schema_registry_url: str | None = None
    schema_registry_basic_auth: SecretStr | None = None

    # Where things live on disk
    data_dir: Path = Field(default=Path(".memlane"), validation_alias="MEMLANE_STATE_DIR")
    """memlane's own state (runs, blob store, RocksDB tables): `MEMLANE_STATE_DIR`."""
    data_source_dir: Path = Field(default=Path("../shared/data"), validation_alias="MEMLANE_DATA_DIR")
    """Evaluation data read by benchmarks and `memlane run` (LoCoMo, logs): `MEMLANE_DATA_DIR`."""
    tenant_id: str = "default"

    # External services
    extractor: Literal["auto", "ollama", "heuristic"] = "auto"
    ollama_url: str = "http://127.0.0.1:11434"
    anthropic_api_key: SecretStr | None = None
    anthropic_base_url: str | None = None
    qdrant_url: str | None = None
    qdrant_api_key: SecretStr | None = None
    api_keys: dict[str, str] = Field(
        default_factory=dict, repr=False, description="search API keys -> tenant ids (JSON in MEMLANE_API_KEYS)"
    )
    metrics_port: int | None = None
    log_level: str = "INFO"
    log_json: bool = False

    topics: TopicNames = TopicNames()
    broker: BrokerSettings = BrokerSettings()
    processors: ProcessorSettings = ProcessorSettings()
    processor_app: ProcessorAppSettings = ProcessorAppSettings()
    extraction: ExtractionSettings = ExtractionSettings()
    sinks: SinkSettings = SinkSettings()

    @model_validator(mode="after")
    def _check_security(self) -> Settings:
        if self.security_protocol.startswith("SASL") and self.sasl_mechanism is None:
            raise ConfigError(f"MEMLANE_SECURITY_PROTOCOL={self.security_protocol} needs MEMLANE_SASL_MECHANISM")
        if self.sasl_mechanism in ("PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512") and (
            not self.sasl_username or self.sasl_password is None
        ):
            raise ConfigError(f"SASL {self.sasl_mechanism} needs MEMLANE_SASL_USERNAME and MEMLANE_SASL_PASSWORD")
        return self

    @property
    def blob_dir(self) -> Path:
        """The local content-addressed blob store every component shares."""
        return self.data_dir / "blobs"

    def kafka_config(self, **overrides: Any) -> dict[str, Any]:
        """The librdkafka settings every memlane client starts from, plus `overrides`."""
        conf: dict[str, Any] = {
            "bootstrap.servers": self.kafka_bootstrap,
            "security.protocol": self.security_protocol,
            "client.id": self.client_id,
        }
        if self.sasl_mechanism:
            conf["sasl.mechanism"] = self.sasl_mechanism
        if self.sasl_username:
            conf["sasl.username"] = self.sasl_username
        if self.sasl_password is not None:
            conf["sasl.password"] = self.sasl_password.get_secret_value()
        if self.ssl_ca_location:
            conf["ssl.ca.location"] = str(self.ssl_ca_location)
        if self.ssl_certificate_location:
            conf["ssl.certificate.location"] = str(self.ssl_certificate_location)
        if self.ssl_key_location:
            conf["ssl.key.location"] = str(self.ssl_key_location)
        if self.ssl_key_password is not None:
            conf["ssl.key.password"] = self.ssl_key_password.get_secret_value()
        conf.update(overrides)
        return conf

    def schema_registry_config(self) -> dict[str, str]:
        conf: dict[str, str] = {}
        if self.schema_registry_basic_auth is not None:
            conf["basic.auth.user.info"] = self.schema_registry_basic_auth.get_secret_value()
        return conf

    def safe_dump(self) -> dict[str, Any]:
        """Settings as a dict fit for logs: secrets stay masked (search API keys too)."""
        dumped = self.model_dump(mode="json")
        dumped["api_keys"] = {f"key-{n}": "**********" for n in range(len(self.api_keys))}
        return dumped


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process-wide settings, read once from the environment."""
    return Settings()


__all__ = ["BrokerSettings", "Settings", "TopicNames", "get_settings"]
