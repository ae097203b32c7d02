"""KEDA scaling of the extraction workers on their consumer group's lag, the requests topic's partitions as the
upper bound.

KEDA's Kafka scaler asks the brokers for the group's lag and wants `ceil(lag / lagThreshold)` replicas; with
`allowIdleConsumers: false` and `limitToPartitionsWithLag: true` it never asks for more replicas than
partitions with lag, and `maxReplicaCount` is the partition count itself: a consumer beyond it would own no
partition. `lagThreshold` is one batch (`MEMLANE_EXTRACTION__WORKER_BATCH_SIZE`): a replica is added for every
batch waiting. Scale-in waits `scale_cooldown_s` and removes one pod a minute, since each change of the group
rebalances it and in-flight LLM calls are redone.
"""

from __future__ import annotations

from typing import Any

from schemas.errors import ConfigError
from streams.deploy.components import component, consumer_groups
from streams.deploy.k8s.manifest import labels
from streams.deploy.k8s.profile import DeployProfile
from streams.settings import Settings

API = "keda.sh/v1alpha1"


def partitions_of(settings: Settings, topic: str) -> int:
    """The partition count the catalogue gives `topic`."""
    for spec in settings.topic_catalogue():
        if spec.name == topic:
            return spec.partitions
    raise ConfigError(f"topic {topic!r} is not in the topic catalogue")


def extraction_scaler(settings: Settings, profile: DeployProfile) -> dict[str, Any]:
    """The `ScaledObject` of the extraction Deployment."""
    extract = component("extract")
    topic = settings.topics.requests
    return {
        "apiVersion": API,
        "kind": "ScaledObject",
        "metadata": {"name": extract.job, "namespace": profile.namespace, "labels": labels(extract.job)},
        "spec": {
            "scaleTargetRef": {"name": extract.job},
            "minReplicaCount": 1,
            "maxReplicaCount": partitions_of(settings, topic),
            "pollingInterval": 15,
            "cooldownPeriod": profile.scale_cooldown_s,
            "advanced": {
                "horizontalPodAutoscalerConfig": {
                    "behavior": {
                        "scaleDown": {
                            "stabilizationWindowSeconds": profile.scale_cooldown_s,
                            "policies": [{"type": "Pods", "value": 1, "periodSeconds": 60}],
                        }
                    }
                }
            },
            "triggers": [
                {
                    "type": "kafka",
                    "metadata": {
                        "bootstrapServers": profile.bootstrap,
                        "consumerGroup": consumer_groups(settings)["extract"],
                        "topic": topic,
                        "lagThreshold": str(settings.extraction.worker_batch_size),
                        "activationLagThreshold": "0",
                        "offsetResetPolicy": "earliest",
                        "allowIdleConsumers": "false",
                        "limitToPartitionsWithLag": "true",
                    },
                }
            ],
        },
    }


def scalers(settings: Settings, profile: DeployProfile) -> list[dict[str, Any]]:
    return [extraction_scaler(settings, profile)]


__all__ = ["API", "extraction_scaler", "partitions_of", "scalers"]
