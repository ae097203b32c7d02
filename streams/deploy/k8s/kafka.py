"""The Kafka cluster as Strimzi resources (`kafka.strimzi.io/v1`): a KRaft `Kafka`, its
`KafkaNodePool`, and one `KafkaTopic` per entry of the topic catalogue (`streams.kafka.topic_catalogue`).

Topics come from `Settings.topic_catalogue()`, the same specs `memlane topics create` provisions locally, so
names, partitions, replication, retention and configs cannot drift between a laptop and the cluster. The
brokers refuse to create topics on their own, as the local broker does. Topic resource names are the topic
names made DNS-safe; `spec.topicName` carries the real name.
"""

from __future__ import annotations

import re
from typing import Any

from streams.deploy.k8s.manifest import labels
from streams.deploy.k8s.profile import DeployProfile
from streams.kafka.topic_catalogue import TopicSpec
from streams.settings import Settings

API = "kafka.strimzi.io/v1"
POOL = "dual-role"


def _cluster_label(profile: DeployProfile) -> dict[str, str]:
    return {"strimzi.io/cluster": profile.kafka_cluster}


def kafka_cluster(settings: Settings, profile: DeployProfile) -> dict[str, Any]:
    """The `Kafka` resource: KRaft with node pools, plain and TLS internal listeners, memlane's broker policy."""
    replicas = settings.topic_replication_factor
    min_isr = min(settings.topic_min_insync_replicas, replicas)
    return {
        "apiVersion": API,
        "kind": "Kafka",
        "metadata": {"name": profile.kafka_cluster, "namespace": profile.namespace, "labels": labels("kafka")},
        "spec": {
            "kafka": {
                "version": profile.kafka_version,
                "listeners": [
                    {"name": "plain", "port": 9092, "type": "internal", "tls": False},
                    {"name": "tls", "port": 9093, "type": "internal", "tls": True},
                ],
                "config": {
                    "auto.create.topics.enable": False,
                    "default.replication.factor": replicas,
                    "min.insync.replicas": min_isr,
                    "offsets.topic.replication.factor": replicas,
                    "transaction.state.log.replication.factor": replicas,
                    "transaction.state.log.min.isr": min_isr,
                    "message.max.bytes": settings.kafka.topic_max_message_bytes,
                },
            },
            "entityOperator": {"topicOperator": {}, "userOperator": {}},
        },
    }


def node_pool(profile: DeployProfile) -> dict[str, Any]:
    """The `KafkaNodePool`: combined controller+broker nodes on persistent volumes (metadata on the same disk)."""
    return {
        "apiVersion": API,
        "kind": "KafkaNodePool",
        "metadata": {
            "name": POOL,
            "namespace": profile.namespace,
            "labels": {**labels("kafka"), **_cluster_label(profile)},
        },
        "spec": {
            "replicas": profile.kafka_nodes,
            "roles": ["controller", "broker"],
            "storage": {
                "type": "jbod",
                "volumes": [
                    {
                        "id": 0,
                        "type": "persistent-claim",
                        "size": profile.kafka_storage,
                        "deleteClaim": False,
                        "kraftMetadata": "shared",
                    }
                ],
            },
            "resources": profile.kafka_resources.as_dict(),
        },
    }


def resource_name(topic: str) -> str:
    """A DNS-1123 name for topic `topic` (dots and underscores become dashes, lower case)."""
    return re.sub(r"[^a-z0-9-]+", "-", topic.lower()).strip("-")[:253]


def kafka_topic(spec: TopicSpec, profile: DeployProfile) -> dict[str, Any]:
    """The `KafkaTopic` of one catalogue entry, configured exactly as the catalogue says."""
    return {
        "apiVersion": API,
        "kind": "KafkaTopic",
        "metadata": {
            "name": resource_name(spec.name),
            "namespace": profile.namespace,
            "labels": {**labels("kafka"), **_cluster_label(profile)},
            "annotations": {"memlane.io/purpose": spec.purpose},
        },
        "spec": {
            "topicName": spec.name,
            "partitions": spec.partitions,
            "replicas": spec.replication_factor,
            "config": dict(sorted(spec.configs().items())),
        },
    }


def kafka_resources(settings: Settings, profile: DeployProfile) -> list[dict[str, Any]]:
    """Every Strimzi resource of the deployment: the cluster, its pool, the catalogue's topics."""
    return [kafka_cluster(settings, profile), node_pool(profile)]


def topic_resources(settings: Settings, profile: DeployProfile) -> list[dict[str, Any]]:
    return [kafka_topic(spec, profile) for spec in settings.topic_catalogue()]


__all__ = ["API", "kafka_cluster", "kafka_resources", "kafka_topic", "node_pool", "resource_name", "topic_resources"]
