"""The one settings object of memlane (pydantic-settings, environment variables `MEMLANE_*`).

Flat fields cover what operators set most (bootstrap servers, security, registry, directories, extractor
choice, service URLs and keys); tuning knobs of each component live in a nested section owned by that
component's module and are set as `MEMLANE_<SECTION>__<FIELD>`, e.g. `MEMLANE_PROCESSORS__TOKEN_THRESHOLD=1500`.
Secrets are `SecretStr` and never logged: `safe_dump()` masks them.

This module is part of the composition root: it is the only place the whole configuration is known.
Leaf code receives what it needs from the methods below (a `KafkaConnection`, a `StreamContext`, its own
section with every path resolved under the one state directory), never `Settings` itself.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from processors.extraction.extraction_settings import ExtractionSettings
from processors.offload.label_settings import LabelSettings
from processors.offload.offload_settings import OffloadSettings
from processors.offload.summary_settings import SummarySettings
from processors.stage_settings import ProcessorSettings
from schemas.codec import EventCodec, codec_for
from sinks.memory_store.open_store import edge_url
from sinks.sink_settings import SinkSettings
from streams.broker.broker_settings import BrokerSettings
from streams.broker.registry_settings import RegistrySettings
from streams.kafka.connection import KafkaConnection, SaslMechanism, SecurityProtocol
from streams.kafka.context import StreamContext
from streams.kafka.topic_catalogue import TopicNames, TopicSpec, topic_catalogue
from streams.processor_app.app_settings import ProcessorAppSettings

_SECTIONS = (
    "topics",
    "broker",
    "registry",
    "processors",
    "processor_app",
    "extraction",
    "sinks",
    "offload",
    "summary",
    "labels",
    "ops",
)
_ALIASES = {"state_dir": "MEMLANE_STATE_DIR", "data_dir": "MEMLANE_DATA_DIR"}


class OpsSettings(BaseModel):
    """Operating the live pipeline (`MEMLANE_OPS__*`): lag watching, the supervisor of `memlane up`."""

    model_config = ConfigDict(use_attribute_docstrings=True)

    lag_interval_s: float = Field(default=15.0, gt=0)
    """How often `memlane serve` measures consumer lag for `/metrics`."""
    stall_after_s: float = Field(default=120.0, gt=0)
    """A partition with lag whose committed offset has not moved for this long is stalled."""
    restart_backoff_s: float = Field(default=1.0, gt=0)
    """First wait before the supervisor restarts a component that died; doubles per restart in a row."""
    restart_backoff_max_s: float = Field(default=60.0, gt=0)
    """Longest wait between restarts of one component."""
    stable_after_s: float = Field(default=60.0, gt=0)
    """A component that ran this long before dying is restarted after the first backoff again."""
    metrics_base_port: int = Field(default=9400, ge=1, le=65000)
    """`memlane up` gives each component `MEMLANE_METRICS_PORT` from this port up (serve keeps its own port)."""
    serve_port: int = Field(default=8080, ge=0, le=65535)
    """The port of the search service `memlane up` starts."""
    stop_timeout_s: float = Field(default=30.0, gt=0)
    """How long `memlane down` waits for a component to stop before killing it."""
    soak_minutes: float = Field(default=2.0, gt=0)
    """How long `memlane bench soak` runs when `--minutes` is not given (`--quick`: half a minute)."""
    soak_rate_per_s: float = Field(default=10.0, gt=0)
    """Turns per second `memlane bench soak` publishes through the whole pipeline."""
    soak_ollama_latency_s: float = Field(default=0.05, ge=0)
    """Fixed latency of every answer of the soak's fake Ollama."""
    soak_failing_share: float = Field(default=0.1, ge=0, le=1)
    """Share of windows the soak's fake Ollama answers with cut-off JSON (they go through the DLQ to Claude)."""
    soak_sample_interval_s: float = Field(default=5.0, gt=0)
    """How often the soak samples every component's RSS, open file descriptors and consumer lag."""


class Settings(BaseSettings):
    """Everything memlane reads from its environment."""

    model_config = SettingsConfigDict(
        use_attribute_docstrings=True,
        env_prefix="MEMLANE_",
        env_nested_delimiter="__",
        env_file=".env",
        env_file_encoding="utf-8",
        extra="ignore",
    )

    # Kafka connection
    kafka_bootstrap: str = "127.0.0.1:9092"
    """Bootstrap servers of the Kafka cluster (`host:port,...`)."""
    security_protocol: SecurityProtocol = "PLAINTEXT"
    """Kafka security protocol: PLAINTEXT, SSL, SASL_PLAINTEXT or SASL_SSL."""
    sasl_mechanism: SaslMechanism | None = None
    """SASL mechanism (e.g. SCRAM-SHA-512, PLAIN) when the protocol uses SASL."""
    sasl_username: str | None = None
    """SASL user name."""
    sasl_password: SecretStr | None = None
    """SASL password (secret: never logged)."""
    ssl_ca_location: Path | None = None
    """CA certificate file that verifies the brokers."""
    ssl_certificate_location: Path | None = None
    """Client certificate file (mutual TLS)."""
    ssl_key_location: Path | None = None
    """Client private key file (mutual TLS)."""
    ssl_key_password: SecretStr | None = None
    """Password of the client private key (secret)."""
    client_id: str = "memlane"
    """Kafka client id prefix of every producer and consumer."""
    max_message_bytes: int = Field(default=1_000_000, ge=262_144)
    """The one size policy: the largest message memlane produces; topics and every producer follow it."""
    delivery_timeout_s: float = Field(default=120.0, gt=0)
    """How long a producer retries a message (e.g. through a broker outage) before reporting it undelivered."""
    consumer_session_timeout_s: float | None = Field(default=None, ge=6.0, le=300.0)
    """How long a worker's consumer group waits for a member that went silent (killed) before handing its
    partitions to the others; default 30 s. The processors' is `MEMLANE_PROCESSOR_APP__SESSION_TIMEOUT_S`."""
    topic_replication_factor: int = Field(default=1, ge=1)
    """Replication factor `memlane topics create` gives new topics."""
    topic_min_insync_replicas: int = Field(default=1, ge=1)
    """`min.insync.replicas` of new topics (with acks=all: writes survive that many failures less one)."""

    # Schema registry (Confluent wire format when set; Avro single-object encoding otherwise)
    schema_registry_url: str | None = None
    """Schema registry URL; set, events use the Confluent wire format with registered schemas."""
    schema_registry_basic_auth: SecretStr | None = None
    """`user:password` for the schema registry (secret)."""

    # Where things live on disk
    state_dir: Path = Path(".memlane")
    """Everything memlane writes (broker data, RocksDB tables, blob store, Qdrant shards, runs): `MEMLANE_STATE_DIR`."""
    blob_read_through_dir: Path | None = None
    """Another blob store read (never written) when a blob is not in this state directory's: a replay reads
    the content production claim-checked this way."""
    data_dir: Path = Path("../shared/data")
    """Evaluation data, only ever read (LoCoMo, logs) by benchmarks and `memlane run`: `MEMLANE_DATA_DIR`."""
    tenant_id: str = "default"
    """Tenant that `memlane publish` and `memlane run` publish under."""

    # External services
    extractor: Literal["auto", "ollama", "heuristic"] = "auto"
    """auto (Ollama when it answers, else the heuristic extractor), ollama, or heuristic."""
    ollama_url: str = "http://127.0.0.1:11434"
    """Base URL of the Ollama server used for extraction."""
    anthropic_api_key: SecretStr | None = None
    """Anthropic API key of the Claude fallback (secret); unset, DLQ requests stay parked."""
    anthropic_base_url: str | None = None
    """Anthropic API base URL (a proxy or a test server); unset, Anthropic's own."""
    qdrant_url: str | None = None
    """Qdrant server URL; unset, the embedded store under the state directory."""
    qdrant_api_key: SecretStr | None = None
    """API key of the Qdrant server (secret)."""
    api_keys: dict[str, str] = Field(
        default_factory=dict, repr=False, description="search API keys -> tenant ids (JSON in MEMLANE_API_KEYS)"
    )
    search_url: str | None = None
    """A running `memlane serve` that `memlane search` asks (`MEMLANE_SEARCH_URL`)."""
    search_api_key: SecretStr | None = None
    """The API key `memlane search --url` presents (`MEMLANE_SEARCH_API_KEY`)."""
    metrics_port: int | None = None
    """Port of a worker's /metrics, /healthz and /readyz; unset, none is served."""
    log_level: str = "INFO"
    """Log level of memlane's own loggers (DEBUG, INFO, WARNING, ERROR)."""
    log_json: bool = False
    """Logs as JSON lines instead of the console format."""
    log_third_party_debug: bool = False
    """Let third-party libraries (Kafka clients, HTTP, the Anthropic and Ollama SDKs) log at DEBUG too. Off by
    default even at MEMLANE_LOG_LEVEL=DEBUG: the Anthropic SDK logs whole prompts (conversation content)."""

    topics: TopicNames = TopicNames()
    """Topic names."""
    broker: BrokerSettings = BrokerSettings()
    """The local broker (`memlane broker`)."""
    registry: RegistrySettings = RegistrySettings()
    """The local schema registry `memlane registry start` runs (`MEMLANE_REGISTRY__*`)."""
    processors: ProcessorSettings = ProcessorSettings()
    """Thresholds of the processor stages."""
    processor_app: ProcessorAppSettings = ProcessorAppSettings()
    """The processors' stream application (faust)."""
    extraction: ExtractionSettings = ExtractionSettings()
    """Models, timeouts, breaker and budget of extraction."""
    sinks: SinkSettings = SinkSettings()
    """Memory store, embeddings, blob store and search."""
    offload: OffloadSettings = OffloadSettings()
    """Local offload: digests of tool results, RAG pre-ranking, the memory write API."""
    summary: SummarySettings = SummarySettings()
    """Hierarchical summaries: the summarise worker, its local model and budgets per level."""
    labels: LabelSettings = LabelSettings()
    """The labeller: short semantic labels for memories from the local model (`MEMLANE_LABELS__*`)."""
    ops: OpsSettings = OpsSettings()
    """Supervision, lag and ports of `memlane up`."""

    @model_validator(mode="after")
    def _check_connection(self) -> Settings:
        self.kafka  # noqa: B018 - builds (and so validates) the connection settings now, not at first use
        return self

    # --- what leaf code is given ----------------------------------------------------------------
    @property
    def kafka(self) -> KafkaConnection:
        """The connection every Kafka client of this deployment uses (validates the security settings)."""
        return KafkaConnection(
            bootstrap_servers=self.kafka_bootstrap,
            security_protocol=self.security_protocol,
            sasl_mechanism=self.sasl_mechanism,
            sasl_username=self.sasl_username,
            sasl_password=self.sasl_password,
            ssl_ca_location=self.ssl_ca_location,
            ssl_certificate_location=self.ssl_certificate_location,
            ssl_key_location=self.ssl_key_location,
            ssl_key_password=self.ssl_key_password,
            client_id=self.client_id,
            max_message_bytes=self.max_message_bytes,
            delivery_timeout_s=self.delivery_timeout_s,
            session_timeout_s=self.consumer_session_timeout_s,
        )

    def kafka_config(self, **overrides: Any) -> dict[str, Any]:
        """The librdkafka dictionary of `kafka`, plus `overrides` (for tools and admin clients)."""
        return self.kafka.as_librdkafka_dict(**overrides)

    def codec(self) -> EventCodec:
        """The event codec of this process (one per registry configuration)."""
        auth = self.schema_registry_basic_auth
        return codec_for(self.schema_registry_url, auth.get_secret_value() if auth is not None else None)

    def stream_context(self) -> StreamContext:
        return StreamContext(self.kafka, self.topics, self.codec())

    def topic_catalogue(self) -> list[TopicSpec]:
        return topic_catalogue(
            self.topics,
            partitions=self.broker.default_partitions,
            replication_factor=self.topic_replication_factor,
            min_insync_replicas=self.topic_min_insync_replicas,
            max_message_bytes=self.kafka.topic_max_message_bytes,
        )

    # --- every path memlane writes, under the one state directory ---------------------------------
    @property
    def blob_dir(self) -> Path:
        """The local content-addressed blob store every component shares."""
        return self.state_dir / "blobs"

    @property
    def qdrant_dir(self) -> Path:
        """Where the embedded Qdrant shards live (one per collection)."""
        return self.sinks.qdrant_path or self.state_dir / "qdrant"

    @property
    def budget_path(self) -> Path:
        """The Claude fallback's daily token budget, shared by the fallback workers of this state directory."""
        return self.state_dir / "claude-budget.json"

    def broker_settings(self) -> BrokerSettings:
        """The local broker's section with its data directory resolved (default `<state dir>/kafka`)."""
        return self.broker.model_copy(update={"data_dir": self.broker.data_dir or self.state_dir / "kafka"})

    def registry_settings(self) -> RegistrySettings:
        """The local registry's section with its data directory resolved (default `<state dir>/registry`)."""
        return self.registry.model_copy(update={"data_dir": self.registry.data_dir or self.state_dir / "registry"})

    def memory_store_url(self) -> str:
        """`MEMLANE_QDRANT_URL` when set, else the embedded shard of the configured collection."""
        return self.qdrant_url or edge_url(self.qdrant_dir / self.sinks.collection)

    # --- passing the configuration on -----------------------------------------------------------
    def to_env(self) -> dict[str, str]:
        """This configuration as `MEMLANE_*` variables, for a child process (secrets included, unmasked)."""
        env: dict[str, str] = {}
        for name, value in self.model_dump(mode="json").items():
            key = _ALIASES.get(name, f"MEMLANE_{name.upper()}")
            if name in _SECTIONS or name == "api_keys":
                env[key] = json.dumps(value)
            elif value is not None:
                env[key] = str(value).lower() if isinstance(value, bool) else str(value)
        for name in ("sasl_password", "ssl_key_password", "anthropic_api_key", "qdrant_api_key", "search_api_key"):
            secret = getattr(self, name)
            if secret is not None:
                env[f"MEMLANE_{name.upper()}"] = secret.get_secret_value()
        if self.schema_registry_basic_auth is not None:
            env["MEMLANE_SCHEMA_REGISTRY_BASIC_AUTH"] = self.schema_registry_basic_auth.get_secret_value()
        return env

    def safe_dump(self) -> dict[str, Any]:
        """Settings as a dict fit for logs: secrets stay masked (search API keys too)."""
        dumped = self.model_dump(mode="json")
        dumped["api_keys"] = {f"key-{n}": "**********" for n in range(len(self.api_keys))}
        return dumped


__all__ = ["OpsSettings", "Settings"]
