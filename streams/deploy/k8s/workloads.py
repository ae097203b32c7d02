"""memlane's own processes on Kubernetes: one Deployment per component, the environment they share, the
blob store volume, and the search API's Service.

Every pod reads one ConfigMap, `memlane-env` (`MEMLANE_*`, rendered from the settings: bootstrap servers,
topic names, the topic shape, service URLs, where state lives) and sets its own `MEMLANE_METRICS_PORT`
(`streams.deploy.components`); the probes and Prometheus' pod annotations use that port. Secrets come from a
Secret named `memlane-secrets` that operators create (keys `anthropic-api-key`, `api-keys`).

The blob store is a directory every component shares (claim checks, windows, overflow of parked messages)
with a SQLite index in WAL mode, which is safe between processes of one host and not over a network file
system. So the state directory is one ReadWriteOnce volume and every pod that mounts it is scheduled on the
node holding it (a required pod affinity on `memlane.io/state`); the GPU servers, Kafka and Qdrant run
anywhere. Spreading memlane's own pods over nodes needs an object-store blob backend (docs/scaling.md).
The processors keep their RocksDB tables on a local `emptyDir` (restored from the changelog topics after a
reschedule). The extraction Deployment leaves `replicas` unset: KEDA owns it
(`streams.deploy.k8s.autoscaling`).
"""

from __future__ import annotations

import json
import math
from typing import Any

from streams.deploy.components import COMPONENTS, Component
from streams.deploy.k8s.manifest import http_probe, labels, scrape_annotations, selector
from streams.deploy.k8s.profile import DeployProfile
from streams.deploy.k8s.services import OLLAMA_PORT, QDRANT_HTTP
from streams.settings import Settings

ENV_CONFIGMAP = "memlane-env"
SECRETS = "memlane-secrets"
BLOB_CLAIM = "memlane-state"
STATE_LABEL = {"memlane.io/state": "shared"}
"""Pods mounting the state volume carry it; each requires a node running another such pod (or none yet)."""
PENDING_SETTINGS = {"MEMLANE_METRICS_HOST": "0.0.0.0"}
"""Variables the manifests set that memlane's settings do not read yet: the metrics server binds 127.0.0.1
today, where neither the kubelet's probes nor Prometheus reach it (docs/operations.md)."""
AUTOSCALED = frozenset({"extract"})


def shared_env(settings: Settings, profile: DeployProfile) -> dict[str, str]:
    """The `MEMLANE_*` variables every pod gets, rendered from `settings` for the cluster in `profile`."""
    ns = profile.namespace
    return {
        "MEMLANE_KAFKA_BOOTSTRAP": profile.bootstrap,
        "MEMLANE_TOPICS": json.dumps(settings.topics.model_dump(), sort_keys=True),
        "MEMLANE_BROKER__DEFAULT_PARTITIONS": str(settings.broker.default_partitions),
        "MEMLANE_TOPIC_REPLICATION_FACTOR": str(settings.topic_replication_factor),
        "MEMLANE_TOPIC_MIN_INSYNC_REPLICAS": str(settings.topic_min_insync_replicas),
        "MEMLANE_MAX_MESSAGE_BYTES": str(settings.max_message_bytes),
        "MEMLANE_EXTRACTOR": settings.extractor,
        "MEMLANE_OLLAMA_URL": f"http://ollama.{ns}.svc:{OLLAMA_PORT}",
        "MEMLANE_QDRANT_URL": f"http://qdrant.{ns}.svc:{QDRANT_HTTP}",
        "MEMLANE_STATE_DIR": profile.state_dir,
        "MEMLANE_PROCESSOR_APP__DATA_DIR": f"{profile.local_dir}/processors",
        "MEMLANE_LOG_JSON": str(settings.log_json).lower(),
        **PENDING_SETTINGS,
    }


def config_map(settings: Settings, profile: DeployProfile) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": ENV_CONFIGMAP, "namespace": profile.namespace, "labels": labels("memlane")},
        "data": shared_env(settings, profile),
    }


def state_claim(profile: DeployProfile) -> dict[str, Any]:
    """The shared state directory (blob store, Claude budget): one node-local volume for the deployment."""
    spec: dict[str, Any] = {
        "accessModes": ["ReadWriteOnce"],
        "resources": {"requests": {"storage": profile.blob_storage}},
    }
    if profile.blob_storage_class:
        spec["storageClassName"] = profile.blob_storage_class
    return {
        "apiVersion": "v1",
        "kind": "PersistentVolumeClaim",
        "metadata": {"name": BLOB_CLAIM, "namespace": profile.namespace, "labels": labels("memlane")},
        "spec": spec,
    }


def _secret_env(name: str, key: str) -> dict[str, Any]:
    return {"name": name, "valueFrom": {"secretKeyRef": {"name": SECRETS, "key": key, "optional": True}}}


def _command(item: Component) -> list[str]:
    if item.is_worker:
        return list(item.command)
    return [*item.command, "--host", "0.0.0.0", "--port", str(item.metrics_port)]


def _grace_s(item: Component, settings: Settings) -> int:
    """Long enough for a worker to finish its batch on SIGTERM: LLM calls may take the request timeout."""
    if item.name in ("extract", "fallback"):
        return math.ceil(settings.extraction.request_timeout_s) + 30
    return 60


def _container(item: Component, settings: Settings, profile: DeployProfile) -> dict[str, Any]:
    port_name = "metrics" if item.is_worker else "http"
    # `memlane serve` serves /metrics on its API port: a MEMLANE_METRICS_PORT there would ask for the same port
    env: list[dict[str, Any]] = (
        [{"name": "MEMLANE_METRICS_PORT", "value": str(item.metrics_port)}] if item.is_worker else []
    )
    if item.name == "fallback":
        env.append(_secret_env("MEMLANE_ANTHROPIC_API_KEY", "anthropic-api-key"))
    if item.name == "serve":
        env.append(_secret_env("MEMLANE_API_KEYS", "api-keys"))
    mounts = [{"name": "state", "mountPath": profile.state_dir}]
    if item.name == "processors":
        mounts.append({"name": "local", "mountPath": profile.local_dir})
    return {
        "name": item.name,
        "image": profile.image,
        "command": _command(item),
        "ports": [{"name": port_name, "containerPort": item.metrics_port}],
        "envFrom": [{"configMapRef": {"name": ENV_CONFIGMAP}}],
        "env": env,
        "volumeMounts": mounts,
        # a restore from the changelogs or a first model load may take minutes: the startup probe allows 5
        "startupProbe": http_probe(item.health_path, port_name, period_s=10, failures=30),
        "livenessProbe": http_probe(item.health_path, port_name, period_s=20),
        "readinessProbe": http_probe(item.ready_path, port_name),
        "resources": profile.resources[item.name].as_dict(),
    }


def _with_the_state() -> dict[str, Any]:
    """On the node of the other pods sharing the state volume (the first one lands anywhere)."""
    term = {"labelSelector": {"matchLabels": dict(STATE_LABEL)}, "topologyKey": "kubernetes.io/hostname"}
    return {"podAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": [term]}}


def deployment(item: Component, settings: Settings, profile: DeployProfile) -> dict[str, Any]:
    """The Deployment of one component: its command, port, probes, resources and volumes."""
    volumes: list[dict[str, Any]] = [{"name": "state", "persistentVolumeClaim": {"claimName": BLOB_CLAIM}}]
    if item.name == "processors":
        volumes.append({"name": "local", "emptyDir": {}})
    spec: dict[str, Any] = {
        "selector": {"matchLabels": selector(item.job)},
        "template": {
            "metadata": {
                "labels": {**labels(item.job), "app.kubernetes.io/component": item.name, **STATE_LABEL},
                "annotations": scrape_annotations(item.metrics_port, item.metrics_path),
            },
            "spec": {
                "affinity": _with_the_state(),
                "containers": [_container(item, settings, profile)],
                "volumes": volumes,
                "terminationGracePeriodSeconds": _grace_s(item, settings),
            },
        },
    }
    if item.name not in AUTOSCALED:
        spec = {"replicas": profile.replicas[item.name], **spec}
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {
            "name": item.job,
            "namespace": profile.namespace,
            "labels": {**labels(item.job), "app.kubernetes.io/component": item.name},
        },
        "spec": spec,
    }


def search_service(profile: DeployProfile) -> dict[str, Any]:
    serve = next(c for c in COMPONENTS if c.name == "serve")
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": serve.job, "namespace": profile.namespace, "labels": labels(serve.job)},
        "spec": {"selector": selector(serve.job), "ports": [{"name": "http", "port": 80, "targetPort": "http"}]},
    }


def workloads(settings: Settings, profile: DeployProfile) -> list[dict[str, Any]]:
    """The ConfigMap, the state volume, every component's Deployment and the search Service."""
    return [
        config_map(settings, profile),
        state_claim(profile),
        *(deployment(item, settings, profile) for item in COMPONENTS),
        search_service(profile),
    ]


__all__ = [
    "AUTOSCALED",
    "BLOB_CLAIM",
    "ENV_CONFIGMAP",
    "PENDING_SETTINGS",
    "SECRETS",
    "STATE_LABEL",
    "config_map",
    "deployment",
    "shared_env",
    "workloads",
]
