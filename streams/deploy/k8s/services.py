"""The servers memlane talks to, as Kubernetes workloads: a Qdrant server and Ollama on GPU nodes.

Qdrant runs as a StatefulSet (one volume per replica; a single node unless Qdrant's distributed mode is
configured). Ollama runs as a StatefulSet too, one GPU and one model cache volume per replica, scheduled
only on GPU nodes (node selector + the GPU taint tolerated); `OLLAMA_NUM_PARALLEL` is how many requests one
GPU serves at once, the P of `memlane bench extract`. The extraction workers reach them by Service name.
"""

from __future__ import annotations

from typing import Any

from streams.deploy.k8s.manifest import http_probe, labels, selector
from streams.deploy.k8s.profile import DeployProfile

QDRANT_HTTP, QDRANT_GRPC, OLLAMA_PORT = 6333, 6334, 11434


def _service(name: str, profile: DeployProfile, ports: list[tuple[str, int]]) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": name, "namespace": profile.namespace, "labels": labels(name)},
        "spec": {
            "selector": selector(name),
            "ports": [{"name": port_name, "port": port, "targetPort": port_name} for port_name, port in ports],
        },
    }


def _claim(name: str, size: str) -> dict[str, Any]:
    return {
        "metadata": {"name": name},
        "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": size}}},
    }


def _stateful_set(
    name: str, profile: DeployProfile, replicas: int, pod: dict[str, Any], claim: dict[str, Any]
) -> dict[str, Any]:
    return {
        "apiVersion": "apps/v1",
        "kind": "StatefulSet",
        "metadata": {"name": name, "namespace": profile.namespace, "labels": labels(name)},
        "spec": {
            "serviceName": name,
            "replicas": replicas,
            "selector": {"matchLabels": selector(name)},
            "template": {"metadata": {"labels": labels(name)}, "spec": pod},
            "volumeClaimTemplates": [claim],
        },
    }


def qdrant(profile: DeployProfile) -> list[dict[str, Any]]:
    """The Qdrant server memlane's memory sink writes and `memlane serve` searches (`MEMLANE_QDRANT_URL`)."""
    container = {
        "name": "qdrant",
        "image": profile.qdrant_image,
        "ports": [
            {"name": "http", "containerPort": QDRANT_HTTP},
            {"name": "grpc", "containerPort": QDRANT_GRPC},
        ],
        "volumeMounts": [{"name": "storage", "mountPath": "/qdrant/storage"}],
        "readinessProbe": http_probe("/readyz", "http"),
        "livenessProbe": http_probe("/livez", "http", period_s=20),
        "resources": profile.qdrant_resources.as_dict(),
    }
    pod = {"containers": [container], "terminationGracePeriodSeconds": 60}
    return [
        _service("qdrant", profile, [("http", QDRANT_HTTP), ("grpc", QDRANT_GRPC)]),
        _stateful_set("qdrant", profile, profile.qdrant_replicas, pod, _claim("storage", profile.qdrant_storage)),
    ]


def ollama(profile: DeployProfile, models: list[str]) -> list[dict[str, Any]]:
    """Ollama on GPU nodes; `models` are the ones the extraction settings route to (pulled by an operator)."""
    container = {
        "name": "ollama",
        "image": profile.ollama_image,
        "ports": [{"name": "http", "containerPort": OLLAMA_PORT}],
        "env": [
            {"name": "OLLAMA_HOST", "value": f"0.0.0.0:{OLLAMA_PORT}"},
            {"name": "OLLAMA_NUM_PARALLEL", "value": str(profile.ollama_num_parallel)},
            {"name": "OLLAMA_KEEP_ALIVE", "value": "24h"},
            {"name": "OLLAMA_MAX_LOADED_MODELS", "value": str(len(models))},
        ],
        "volumeMounts": [{"name": "models", "mountPath": "/root/.ollama"}],
        "readinessProbe": http_probe("/api/version", "http"),
        "livenessProbe": http_probe("/", "http", period_s=20),
        "resources": {
            "requests": {**profile.ollama_resources.as_dict()["requests"], profile.gpu_resource: "1"},
            "limits": {**profile.ollama_resources.as_dict()["limits"], profile.gpu_resource: "1"},
        },
    }
    pod = {
        "containers": [container],
        "nodeSelector": dict(profile.gpu_node_selector),
        "tolerations": [{"key": profile.gpu_resource, "operator": "Exists", "effect": "NoSchedule"}],
    }
    workload = _stateful_set("ollama", profile, profile.ollama_replicas, pod, _claim("models", profile.ollama_storage))
    workload["metadata"]["annotations"] = {"memlane.io/models": ",".join(models)}
    return [_service("ollama", profile, [("http", OLLAMA_PORT)]), workload]


__all__ = ["OLLAMA_PORT", "QDRANT_GRPC", "QDRANT_HTTP", "ollama", "qdrant"]
