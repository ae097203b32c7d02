"""Runtime knobs of the processors' Faust app and the Faust configuration built from them.

`ProcessorAppSettings` (in `streams.processor_app.app_settings`) is the `Settings.processor_app`
section (`MEMLANE_PROCESSOR_APP__*`, e.g. `MEMLANE_PROCESSOR_APP__APP_ID=memlane-processors-eu`).
The stage thresholds stay in `Settings.processors`
(`processors.stage_settings.ProcessorSettings`); this section only says how the app runs: its id (the consumer
group and the prefix of its changelog and tick topics), where RocksDB lives, batching, the tick timer,
commits and the consumer session.

`WorkerConfig` is everything one worker process is given (the composition root builds it from the
settings); `faust_options()` renders the `faust.App` keyword arguments. Choices fixed here:

* `processing_guarantee="at_least_once"`: outputs are deterministic (ids and contents derive from the
  turns), so redelivery repeats identical records that consumers deduplicate by id. Faust's
  `exactly_once` would add one transactional producer per assigned partition for no gain here.
* `stream_wait_empty=True`: a rebalance or a stop waits for the batch in flight to finish and be acked.
* `topic_disable_leader=True`: no leader election topic; no timer needs a single leader.
"""

from __future__ import annotations

import ssl
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from faust.auth import SASLCredentials, SSLCredentials
from faust.types.auth import CredentialsT

from processors.dedupe import MemoryLookup, TurnEmbedder
from processors.emitted import ContentOffload
from processors.stage_settings import ProcessorSettings
from schemas.errors import ConfigError
from streams.kafka.connection import KafkaConnection
from streams.kafka.context import StreamContext
from streams.kafka.parking import Overflow
from streams.processor_app.app_settings import ProcessorAppSettings


@dataclass(frozen=True)
class WorkerConfig:
    """What one processors worker is given: the stream context, its two settings sections, where its tables
    live, the replication factor of the topics it creates, and the dedupe stage's embedder and memory lookup."""

    ctx: StreamContext
    stages: ProcessorSettings
    app: ProcessorAppSettings
    table_dir: Path
    replication_factor: int = 1
    embedder: TurnEmbedder | None = None
    memories: MemoryLookup | None = None
    offload: ContentOffload | None = None
    """The claim check of turn content too large for a request (inline turns from other producers)."""
    overflow: Overflow | None = None
    """Where a quarantined value too large to copy keeps its full bytes."""


def ticks_topic_name(app_settings: ProcessorAppSettings) -> str:
    return f"{app_settings.app_id}-ticks"


def broker_credentials(settings: KafkaConnection) -> CredentialsT | None:
    """Faust credentials for the security settings librdkafka clients use (None for PLAINTEXT)."""
    protocol = settings.security_protocol
    if protocol == "PLAINTEXT":
        return None
    context: ssl.SSLContext | None = None
    if protocol in ("SSL", "SASL_SSL"):
        context = ssl.create_default_context(
            ssl.Purpose.SERVER_AUTH, cafile=str(settings.ssl_ca_location) if settings.ssl_ca_location else None
        )
        if settings.ssl_certificate_location is not None:
            key_password = settings.ssl_key_password.get_secret_value() if settings.ssl_key_password else None
            context.load_cert_chain(
                str(settings.ssl_certificate_location),
                str(settings.ssl_key_location) if settings.ssl_key_location else None,
                key_password,
            )
    if protocol == "SSL":
        return SSLCredentials(context)
    if settings.sasl_mechanism not in ("PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"):
        raise ConfigError(f"the processors app does not support SASL mechanism {settings.sasl_mechanism}")
    return SASLCredentials(
        username=settings.sasl_username,
        password=settings.sasl_password.get_secret_value() if settings.sasl_password else None,
        ssl_context=context,
        mechanism=settings.sasl_mechanism,
    )


def faust_options(config: WorkerConfig, partitions: int) -> dict[str, Any]:
    """Keyword arguments of `faust.App` for this deployment (`partitions`: those of the turns topic)."""
    kafka, app_settings = config.ctx.kafka, config.app
    servers = kafka.servers
    if not servers:
        raise ConfigError("MEMLANE_KAFKA_BOOTSTRAP names no server")
    session = app_settings.session_timeout_s
    options: dict[str, Any] = {
        "broker": [f"kafka://{server}" for server in servers],
        "broker_client_id": kafka.client_id,
        "store": "rocksdb://",
        "datadir": str(config.table_dir),
        "autodiscover": False,
        "topic_partitions": partitions,
        "topic_replication_factor": config.replication_factor,
        "topic_disable_leader": True,
        "processing_guarantee": "at_least_once",
        "broker_commit_every": app_settings.commit_every,
        "broker_commit_interval": app_settings.commit_interval_s,
        "broker_session_timeout": session,
        "broker_heartbeat_interval": min(3.0, session / 3.0),
        "consumer_auto_offset_reset": "earliest",
        "stream_wait_empty": True,
        "table_standby_replicas": app_settings.standby_replicas,
        "table_cleanup_interval": 30.0,
        "producer_acks": -1,
        "producer_max_request_size": kafka.max_message_bytes,
        "consumer_max_fetch_size": max(4 * 1024 * 1024, 2 * kafka.topic_max_message_bytes),
        "producer_linger": 0.005,
        "web_enabled": app_settings.web_enabled,
        "web_port": app_settings.web_port,
        "web_bind": "127.0.0.1",
    }
    credentials = broker_credentials(kafka)
    if credentials is not None:
        options["broker_credentials"] = credentials
    return options


__all__ = ["ProcessorAppSettings", "WorkerConfig", "broker_credentials", "faust_options", "ticks_topic_name"]
