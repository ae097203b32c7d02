"""Minimal JSON schemas of the Strimzi resources memlane renders (`kafka.strimzi.io/v1`), written by hand.

No Python package ships Strimzi's CRDs (Maven Central's `io.strimzi:api` jar has the model classes, not the
CRD YAML), so these were written from Strimzi's API reference for v1 and checked field by field against
published v1 examples: the required fields, their types and enums, and the keys that v1 removed (a Kafka
with `spec.kafka.replicas`/`storage` or `spec.zookeeper` is a v1beta2 resource, refused by v1). They check
structure, not everything the operator validates.
"""

from __future__ import annotations

from typing import Any

CONFIG_VALUE = {"type": ["string", "number", "integer", "boolean"]}
QUANTITY = {"type": "string", "pattern": r"^[0-9]+(\.[0-9]+)?(m|Ki|Mi|Gi|Ti|k|M|G|T)?$"}
RESOURCES = {
    "type": "object",
    "additionalProperties": False,
    "properties": {
        "requests": {"type": "object", "additionalProperties": QUANTITY},
        "limits": {"type": "object", "additionalProperties": QUANTITY},
    },
}


def _resource(kind: str, spec: dict[str, Any], *, cluster_label: bool) -> dict[str, Any]:
    metadata: dict[str, Any] = {
        "type": "object",
        "required": ["name"],
        "properties": {"name": {"type": "string", "pattern": r"^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$", "maxLength": 253}},
    }
    if cluster_label:
        metadata["required"] = ["name", "labels"]
        metadata["properties"]["labels"] = {"type": "object", "required": ["strimzi.io/cluster"]}
    return {
        "type": "object",
        "required": ["apiVersion", "kind", "metadata", "spec"],
        "properties": {
            "apiVersion": {"const": "kafka.strimzi.io/v1"},
            "kind": {"const": kind},
            "metadata": metadata,
            "spec": spec,
        },
    }


LISTENER = {
    "type": "object",
    "required": ["name", "port", "type", "tls"],
    "properties": {
        "name": {"type": "string", "pattern": "^[a-z0-9]{1,11}$"},
        "port": {"type": "integer", "minimum": 9092, "not": {"enum": [9404, 9999]}},
        "type": {"enum": ["internal", "route", "loadbalancer", "nodeport", "ingress", "cluster-ip"]},
        "tls": {"type": "boolean"},
    },
}

KAFKA = _resource(
    "Kafka",
    {
        "type": "object",
        "required": ["kafka"],
        "additionalProperties": False,
        "properties": {
            "kafka": {
                "type": "object",
                "required": ["listeners"],
                "additionalProperties": False,
                "properties": {
                    "version": {"type": "string", "pattern": r"^\d+\.\d+\.\d+$"},
                    "metadataVersion": {"type": "string"},
                    "listeners": {"type": "array", "minItems": 1, "items": LISTENER},
                    "config": {"type": "object", "additionalProperties": CONFIG_VALUE},
                    "authorization": {"type": "object"},
                    "rack": {"type": "object"},
                    "resources": RESOURCES,
                    "jvmOptions": {"type": "object"},
                    "metricsConfig": {"type": "object"},
                    "logging": {"type": "object"},
                    "template": {"type": "object"},
                    "quotas": {"type": "object"},
                    "tieredStorage": {"type": "object"},
                },
            },
            "entityOperator": {
                "type": "object",
                "properties": {"topicOperator": {"type": "object"}, "userOperator": {"type": "object"}},
            },
            "clusterCa": {"type": "object"},
            "clientsCa": {"type": "object"},
            "cruiseControl": {"type": "object"},
            "kafkaExporter": {"type": "object"},
            "maintenanceTimeWindows": {"type": "array", "items": {"type": "string"}},
        },
    },
    cluster_label=False,
)

VOLUME = {
    "type": "object",
    "required": ["id", "type"],
    "properties": {
        "id": {"type": "integer", "minimum": 0},
        "type": {"enum": ["ephemeral", "persistent-claim"]},
        "size": QUANTITY,
        "class": {"type": "string"},
        "deleteClaim": {"type": "boolean"},
        "kraftMetadata": {"enum": ["shared"]},
    },
    "if": {"properties": {"type": {"const": "persistent-claim"}}},
    "then": {"required": ["size"]},
}

NODE_POOL = _resource(
    "KafkaNodePool",
    {
        "type": "object",
        "required": ["replicas", "roles", "storage"],
        "additionalProperties": False,
        "properties": {
            "replicas": {"type": "integer", "minimum": 0},
            "roles": {
                "type": "array",
                "minItems": 1,
                "uniqueItems": True,
                "items": {"enum": ["controller", "broker"]},
            },
            "storage": {
                "type": "object",
                "required": ["type"],
                "properties": {
                    "type": {"enum": ["jbod", "ephemeral", "persistent-claim"]},
                    "volumes": {"type": "array", "minItems": 1, "items": VOLUME},
                },
                "if": {"properties": {"type": {"const": "jbod"}}},
                "then": {"required": ["volumes"]},
            },
            "resources": RESOURCES,
            "jvmOptions": {"type": "object"},
            "template": {"type": "object"},
        },
    },
    cluster_label=True,
)

TOPIC = _resource(
    "KafkaTopic",
    {
        "type": "object",
        "additionalProperties": False,
        "properties": {
            "topicName": {"type": "string", "pattern": r"^[a-zA-Z0-9._-]{1,249}$"},
            "partitions": {"type": "integer", "minimum": 1},
            "replicas": {"type": "integer", "minimum": 1, "maximum": 32767},
            "config": {"type": "object", "additionalProperties": CONFIG_VALUE},
        },
    },
    cluster_label=True,
)

SCHEMAS = {"Kafka": KAFKA, "KafkaNodePool": NODE_POOL, "KafkaTopic": TOPIC}
