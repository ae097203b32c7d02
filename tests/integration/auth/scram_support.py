"""What the auth tests share: the canary secrets, the client of the SCRAM broker, settings of a deployment on it.

Every secret here is a canary: a random value that must never be found in a log, a metric or a topic.
"""

from __future__ import annotations

import uuid
from pathlib import Path

from pydantic import SecretStr

from streams.broker import BrokerSettings, BrokerStatus
from streams.kafka.connection import KafkaConnection
from streams.settings import Settings, TopicNames

CANARY_USER = "memlane-app"
CANARY_PASSWORD = f"canary-sasl-{uuid.uuid4().hex}"
CANARY_API_KEY = f"canary-apikey-{uuid.uuid4().hex}"
CANARY_ANTHROPIC_KEY = f"canary-anthropic-{uuid.uuid4().hex}"
CANARY_QDRANT_KEY = f"canary-qdrant-{uuid.uuid4().hex}"
CANARY_SEARCH_KEY = f"canary-search-{uuid.uuid4().hex}"


def scram_client(
    bootstrap: str = "127.0.0.1:9092", *, password: str = CANARY_PASSWORD, ca: Path | None = None
) -> KafkaConnection:
    return KafkaConnection(
        bootstrap_servers=bootstrap,
        security_protocol="SASL_SSL",
        sasl_mechanism="SCRAM-SHA-512",
        sasl_username=CANARY_USER,
        sasl_password=SecretStr(password),
        ssl_ca_location=ca,
    )


def settings_on(status: BrokerStatus, work: Path, *, password: str = CANARY_PASSWORD, **extra: object) -> Settings:
    """Settings of a deployment on the SCRAM broker: credentials and CA from settings, topics of its own."""
    suffix = uuid.uuid4().hex[:10]
    base = TopicNames()
    topics = TopicNames(**{field: f"auth.{suffix}.{getattr(base, field)}" for field in TopicNames.model_fields})
    return Settings(
        kafka_bootstrap=status.bootstrap,
        security_protocol="SASL_SSL",
        sasl_mechanism="SCRAM-SHA-512",
        sasl_username=CANARY_USER,
        sasl_password=SecretStr(password),
        ssl_ca_location=Path(status.ca_location or ""),
        topics=topics,
        state_dir=work / "memlane",
        broker=BrokerSettings(default_partitions=3),
        **extra,
    )
