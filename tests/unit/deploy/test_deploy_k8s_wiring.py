"""The manifests agree with the code: topics with the catalogue, KEDA with the partitions and the group, pods
with the port convention, the ConfigMap with the settings memlane reads, Prometheus with the components."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from streams.deploy.components import COMPONENTS, component
from streams.deploy.k8s.profile import DeployProfile, reference_settings
from streams.deploy.k8s.workloads import PENDING_SETTINGS
from streams.settings import Settings

REPO = Path(__file__).resolve().parents[3]
K8S = REPO / "infra/k8s"


def _load(name: str) -> list[dict[str, Any]]:
    return [d for d in yaml.safe_load_all((K8S / name).read_text()) if d]


def _by_kind(name: str, kind: str) -> list[dict[str, Any]]:
    return [d for d in _load(name) if d["kind"] == kind]


def _env() -> dict[str, str]:
    (config,) = _by_kind("memlane.yaml", "ConfigMap")
    return dict(config["data"])


def test_kafka_topics_are_the_catalogue() -> None:
    expected = {
        spec.name: (spec.partitions, spec.replication_factor, spec.configs())
        for spec in reference_settings().topic_catalogue()
    }
    rendered = {
        t["spec"]["topicName"]: (t["spec"]["partitions"], t["spec"]["replicas"], t["spec"]["config"])
        for t in _by_kind("topics.yaml", "KafkaTopic")
    }
    assert rendered == expected
    assert all(
        t["metadata"]["labels"]["strimzi.io/cluster"] == "memlane" for t in _by_kind("topics.yaml", "KafkaTopic")
    )


def test_the_cluster_runs_the_kafka_version_of_the_local_broker() -> None:
    (kafka,) = _by_kind("kafka.yaml", "Kafka")
    pinned = re.search(r"<kafka.version>([^<]+)</kafka.version>", (REPO / "infra/kafka/pom.xml").read_text())
    assert pinned and kafka["spec"]["kafka"]["version"] == pinned.group(1)
    assert kafka["spec"]["kafka"]["config"]["auto.create.topics.enable"] is False
    (pool,) = _by_kind("kafka.yaml", "KafkaNodePool")
    assert pool["spec"]["replicas"] >= kafka["spec"]["kafka"]["config"]["default.replication.factor"]


def test_extraction_scales_on_its_group_lag_up_to_the_partitions() -> None:
    settings = reference_settings()
    (scaler,) = _by_kind("keda.yaml", "ScaledObject")
    trigger = scaler["spec"]["triggers"][0]
    requests = next(s for s in settings.topic_catalogue() if s.name == settings.topics.requests)
    assert scaler["spec"]["maxReplicaCount"] == requests.partitions
    assert trigger["type"] == "kafka"
    meta = trigger["metadata"]
    assert meta["topic"] == settings.topics.requests
    assert meta["consumerGroup"] == settings.extraction.worker_group_id
    assert meta["lagThreshold"] == str(settings.extraction.worker_batch_size)
    assert meta["allowIdleConsumers"] == "false"
    assert meta["bootstrapServers"] == _env()["MEMLANE_KAFKA_BOOTSTRAP"]
    target = next(d for d in _by_kind("memlane.yaml", "Deployment") if d["metadata"]["name"] == "memlane-extract")
    assert scaler["spec"]["scaleTargetRef"]["name"] == target["metadata"]["name"]
    assert "replicas" not in target["spec"], "KEDA owns the replica count; apply must not reset it"


@pytest.mark.parametrize("item", COMPONENTS, ids=[c.name for c in COMPONENTS])
def test_each_component_runs_with_its_port_probes_and_resources(item: Any) -> None:
    (deployment,) = [d for d in _by_kind("memlane.yaml", "Deployment") if d["metadata"]["name"] == item.job]
    pod = deployment["spec"]["template"]
    (container,) = pod["spec"]["containers"]
    assert container["command"][: len(item.command)] == list(item.command)
    (port,) = container["ports"]
    assert port["containerPort"] == item.metrics_port
    env = {e["name"]: e.get("value") for e in container["env"]}
    assert env.get("MEMLANE_METRICS_PORT") == (str(item.metrics_port) if item.is_worker else None)
    assert pod["metadata"]["annotations"]["prometheus.io/port"] == str(item.metrics_port)
    assert f"memlane-{pod['metadata']['labels']['app.kubernetes.io/component']}" == item.job
    for probe, path in (
        ("livenessProbe", "/healthz"),
        ("startupProbe", "/healthz"),
        ("readinessProbe", item.ready_path),
    ):
        assert container[probe]["httpGet"] == {"path": path, "port": port["name"]}
    assert item.ready_path == ("/readyz" if item.is_worker else "/healthz")
    resources = container["resources"]
    assert set(resources["requests"]) == {"cpu", "memory"} and "memory" in resources["limits"]
    assert container["envFrom"] == [{"configMapRef": {"name": "memlane-env"}}]


def test_the_config_map_sets_only_settings_memlane_reads(monkeypatch: pytest.MonkeyPatch) -> None:
    env = _env()
    for key in env:
        if key in PENDING_SETTINGS:
            continue
        field = key.removeprefix("MEMLANE_").split("__")[0].lower()
        assert field in Settings.model_fields, f"{key} names no setting"
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    read = Settings(_env_file=None)  # type: ignore[call-arg]
    reference = reference_settings()
    assert read.topics == reference.topics
    assert read.topic_catalogue() == reference.topic_catalogue(), "the apps and Strimzi agree on every topic"
    assert read.kafka_bootstrap == DeployProfile().bootstrap
    assert read.qdrant_url and read.qdrant_url.startswith("http://qdrant.")
    assert read.extractor == "ollama"
    assert str(read.processor_app.data_dir).startswith(DeployProfile().local_dir)


def test_ollama_runs_on_a_gpu_node_and_serves_the_routed_models() -> None:
    settings = reference_settings()
    (ollama,) = _by_kind("ollama.yaml", "StatefulSet")
    pod = ollama["spec"]["template"]["spec"]
    (container,) = pod["containers"]
    assert container["resources"]["limits"]["nvidia.com/gpu"] == "1"
    assert pod["nodeSelector"] == {"nvidia.com/gpu.present": "true"}
    assert pod["tolerations"][0]["key"] == "nvidia.com/gpu"
    models = ollama["metadata"]["annotations"]["memlane.io/models"].split(",")
    assert set(models) == {settings.extraction.fast_model, settings.extraction.complex_model}
    assert _env()["MEMLANE_OLLAMA_URL"].startswith("http://ollama.")


def test_prometheus_scrapes_one_job_per_component_at_its_port() -> None:
    local = yaml.safe_load((REPO / "infra/prometheus/prometheus.yml").read_text())
    jobs = {job["job_name"]: job["static_configs"][0]["targets"] for job in local["scrape_configs"]}
    assert jobs == {c.job: [f"127.0.0.1:{c.metrics_port}"] for c in COMPONENTS}
    assert len({c.metrics_port for c in COMPONENTS}) == len(COMPONENTS)
    cluster = yaml.safe_load((REPO / "infra/prometheus/prometheus-k8s.yml").read_text())
    assert cluster["rule_files"] == local["rule_files"] == ["alerts.yml"]
    relabel = cluster["scrape_configs"][0]["relabel_configs"]
    assert {"target_label": "job", "replacement": "memlane-$1"}.items() <= relabel[1].items()
    assert component("serve").metrics_port == 8080


def test_the_kustomization_applies_every_file() -> None:
    kustomization = yaml.safe_load((K8S / "kustomization.yaml").read_text())
    assert sorted(kustomization["resources"]) == sorted(p.name for p in K8S.glob("*.yaml") if p.stem != "kustomization")


def test_every_pod_sharing_the_state_volume_lands_on_its_node() -> None:
    (claim,) = _by_kind("memlane.yaml", "PersistentVolumeClaim")
    assert claim["spec"]["accessModes"] == ["ReadWriteOnce"], "SQLite WAL (the blob index) is one host's"
    for deployment in _by_kind("memlane.yaml", "Deployment"):
        pod = deployment["spec"]["template"]
        volumes = {v["name"]: v for v in pod["spec"]["volumes"]}
        assert volumes["state"]["persistentVolumeClaim"]["claimName"] == claim["metadata"]["name"]
        (term,) = pod["spec"]["affinity"]["podAffinity"]["requiredDuringSchedulingIgnoredDuringExecution"]
        assert term["topologyKey"] == "kubernetes.io/hostname"
        assert term["labelSelector"]["matchLabels"].items() <= pod["metadata"]["labels"].items()
