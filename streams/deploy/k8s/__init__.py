"""memlane on Kubernetes: every manifest of `infra/k8s/`, rendered from the topic catalogue and the settings.

namespace.yaml   the namespace everything lives in
kafka.yaml       Strimzi Kafka (KRaft) + KafkaNodePool          streams.deploy.k8s.kafka
topics.yaml      one KafkaTopic per catalogue entry             streams.deploy.k8s.kafka
qdrant.yaml      Qdrant server StatefulSet + Service            streams.deploy.k8s.services
ollama.yaml      Ollama on GPU nodes, StatefulSet + Service     streams.deploy.k8s.services
memlane.yaml     ConfigMap, state volume, Deployments, Service  streams.deploy.k8s.workloads
keda.yaml        ScaledObject of the extraction workers         streams.deploy.k8s.autoscaling
kustomization.yaml  `kubectl apply -k infra/k8s` applies them all in the namespace
"""

from __future__ import annotations

from typing import Any

import yaml

from streams.deploy.k8s.autoscaling import scalers
from streams.deploy.k8s.kafka import kafka_resources, topic_resources
from streams.deploy.k8s.manifest import HEADER, dump_all
from streams.deploy.k8s.profile import DeployProfile, reference_settings
from streams.deploy.k8s.services import ollama, qdrant
from streams.deploy.k8s.workloads import workloads
from streams.settings import Settings


def manifests(settings: Settings, profile: DeployProfile) -> dict[str, list[dict[str, Any]]]:
    """File name -> the resources it holds."""
    models = sorted({settings.extraction.fast_model, settings.extraction.complex_model})
    namespace = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": profile.namespace}}
    return {
        "namespace.yaml": [namespace],
        "kafka.yaml": kafka_resources(settings, profile),
        "topics.yaml": topic_resources(settings, profile),
        "qdrant.yaml": qdrant(profile),
        "ollama.yaml": ollama(profile, models),
        "memlane.yaml": workloads(settings, profile),
        "keda.yaml": scalers(settings, profile),
    }


def render(settings: Settings, profile: DeployProfile) -> dict[str, str]:
    """File name -> its text, the kustomization included."""
    files = {name: dump_all(docs) for name, docs in manifests(settings, profile).items()}
    kustomization = {
        "apiVersion": "kustomize.config.k8s.io/v1beta1",
        "kind": "Kustomization",
        "namespace": profile.namespace,
        "resources": list(files),
    }
    files["kustomization.yaml"] = HEADER + str(yaml.safe_dump(kustomization, sort_keys=False))
    return files


__all__ = ["DeployProfile", "manifests", "reference_settings", "render"]
