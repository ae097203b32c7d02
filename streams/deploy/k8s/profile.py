"""What a Kubernetes deployment of memlane is sized and named by: the profile, and the settings it starts from.

The committed manifests (`infra/k8s/`) are rendered from `reference_settings()`: memlane's defaults with the
cluster's topic shape (`TOPIC_PARTITIONS` partitions, replication 3, min ISR 2), read from no environment,
so that rendering is reproducible. `memlane deploy k8s --from-env` renders an operator's own settings instead.
Image tags: Qdrant's matches the qdrant-client the project installs, Ollama's the server the tests run.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from pydantic_settings import BaseSettings, PydanticBaseSettingsSource

from streams.broker.broker_settings import BrokerSettings
from streams.settings import Settings

TOPIC_PARTITIONS = 12
"""Partitions of every topic on the cluster: the most replicas any consumer group can use (docs/scaling.md)."""


class _ReferenceSettings(Settings):
    """Settings from explicit values and defaults only (no environment, no `.env`)."""

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        return (init_settings,)


def reference_settings(**overrides: Any) -> Settings:
    """The settings the committed manifests are rendered from."""
    values: dict[str, Any] = {
        "broker": BrokerSettings(default_partitions=TOPIC_PARTITIONS),
        "topic_replication_factor": 3,
        "topic_min_insync_replicas": 2,
        "extractor": "ollama",
        "log_json": True,
        **overrides,
    }
    return _ReferenceSettings(**values)


@dataclass(frozen=True)
class Resources:
    """A container's requests and limits (Kubernetes quantities)."""

    cpu: str
    memory: str
    cpu_limit: str | None = None
    memory_limit: str | None = None

    def as_dict(self) -> dict[str, dict[str, str]]:
        limits = {"memory": self.memory_limit or self.memory}
        if self.cpu_limit:
            limits["cpu"] = self.cpu_limit
        return {"requests": {"cpu": self.cpu, "memory": self.memory}, "limits": limits}


@dataclass(frozen=True)
class DeployProfile:
    """Names, images, replica counts and sizes of one cluster deployment."""

    namespace: str = "memlane"
    kafka_cluster: str = "memlane"
    image: str = "memlane:0.1.0"
    qdrant_image: str = "qdrant/qdrant:v1.20.0"
    ollama_image: str = "ollama/ollama:0.17.4"
    state_dir: str = "/var/lib/memlane"
    local_dir: str = "/var/lib/memlane-local"
    kafka_version: str = "4.3.1"
    """The Kafka version Strimzi runs: the one `infra/kafka/pom.xml` pins for the local broker (Strimzi 1.1+)."""
    kafka_nodes: int = 3
    kafka_storage: str = "100Gi"
    kafka_resources: Resources = Resources("1", "4Gi", memory_limit="4Gi")
    qdrant_replicas: int = 1
    qdrant_storage: str = "50Gi"
    qdrant_resources: Resources = Resources("1", "4Gi")
    ollama_replicas: int = 1
    ollama_storage: str = "60Gi"
    ollama_num_parallel: int = 4
    ollama_resources: Resources = Resources("4", "16Gi")
    gpu_resource: str = "nvidia.com/gpu"
    gpu_node_selector: dict[str, str] = field(default_factory=lambda: {"nvidia.com/gpu.present": "true"})
    blob_storage: str = "200Gi"
    blob_storage_class: str | None = None
    """The state volume's storage class (ReadWriteOnce, node-local or block storage); None: the cluster's default."""
    replicas: dict[str, int] = field(
        default_factory=lambda: {
            "processors": 2,
            "extract": 1,
            "fallback": 1,
            "sink-qdrant": 2,
            "sink-blobs": 1,
            "summarise": 1,
            "label": 1,
            "serve": 2,
        }
    )
    resources: dict[str, Resources] = field(
        default_factory=lambda: {
            "processors": Resources("1", "1Gi", memory_limit="2Gi"),
            "extract": Resources("250m", "512Mi", memory_limit="1Gi"),
            "fallback": Resources("100m", "256Mi", memory_limit="512Mi"),
            "sink-qdrant": Resources("1", "1Gi", memory_limit="2Gi"),
            "sink-blobs": Resources("250m", "256Mi", memory_limit="512Mi"),
            "summarise": Resources("250m", "512Mi", memory_limit="1Gi"),
            "label": Resources("100m", "256Mi", memory_limit="512Mi"),
            "serve": Resources("500m", "1Gi", memory_limit="2Gi"),
        }
    )
    scale_cooldown_s: int = 300
    """KEDA: seconds without lag before scaling in, and the HPA's scale-down window (each scale-in rebalances)."""

    @property
    def bootstrap(self) -> str:
        """The Strimzi bootstrap service of the cluster's plain listener."""
        return f"{self.kafka_cluster}-kafka-bootstrap.{self.namespace}.svc:9092"


__all__ = ["TOPIC_PARTITIONS", "DeployProfile", "Resources", "reference_settings"]
