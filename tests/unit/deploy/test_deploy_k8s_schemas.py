"""The committed manifests against schemas shipped by packages, offline: Kubernetes' OpenAPI schemas
(kubernetes-validate, strict: unknown fields are errors), KEDA's CRD models (cloudcoil-models-keda, generated
from KEDA's CRDs) and Strimzi's structure (a minimal hand-written schema: no package ships its CRDs)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml
from cloudcoil.models.keda.v1alpha1 import ScaledObject
from kubernetes_validate import utils as kubernetes_validate
from strimzi_schema import SCHEMAS

K8S = Path(__file__).resolve().parents[3] / "infra/k8s"
KUBERNETES_VERSIONS = ("1.30", "1.37")
"""The oldest Kubernetes still served by the big clouds' extended support when this was written, and the newest."""


def _documents() -> list[tuple[str, dict[str, Any]]]:
    found = []
    for path in sorted(K8S.glob("*.yaml")):
        if path.name == "kustomization.yaml":
            continue
        found += [(path.name, doc) for doc in yaml.safe_load_all(path.read_text()) if doc]
    return found


DOCUMENTS = _documents()


def _built_in(api_version: str) -> bool:
    """`v1`, `apps/v1`: a Kubernetes API group (no domain), not a custom resource's (`keda.sh/v1alpha1`)."""
    return "/" not in api_version or "." not in api_version.split("/", maxsplit=1)[0]


BUILT_IN = [(f, d) for f, d in DOCUMENTS if _built_in(d["apiVersion"])]


def _id(item: tuple[str, dict[str, Any]]) -> str:
    return f"{item[0]}:{item[1]['kind']}/{item[1]['metadata']['name']}"


def test_every_kind_is_checked_by_one_of_the_schemas() -> None:
    kinds = {d["kind"] for _, d in DOCUMENTS}
    assert kinds == {
        "Namespace", "ConfigMap", "PersistentVolumeClaim", "Deployment", "StatefulSet", "Service",
        "Kafka", "KafkaNodePool", "KafkaTopic", "ScaledObject",
    }  # fmt: skip
    assert {d["kind"] for _, d in BUILT_IN} | set(SCHEMAS) | {"ScaledObject"} == kinds


@pytest.mark.parametrize("version", KUBERNETES_VERSIONS)
@pytest.mark.parametrize("item", BUILT_IN, ids=[_id(i) for i in BUILT_IN])
def test_built_in_resources_match_the_kubernetes_openapi_schema(item: tuple[str, dict[str, Any]], version: str) -> None:
    kubernetes_validate.validate(item[1], version, strict=True)


def test_the_kubernetes_validator_refuses_an_unknown_field() -> None:
    deployment = next(d for _, d in BUILT_IN if d["kind"] == "Deployment")
    broken = yaml.safe_load(yaml.safe_dump(deployment))
    broken["spec"]["template"]["spec"]["containers"][0]["readinessProbes"] = {}
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(broken, KUBERNETES_VERSIONS[-1], strict=True)


STRIMZI = [(f, d) for f, d in DOCUMENTS if d["kind"] in SCHEMAS]


@pytest.mark.parametrize("item", STRIMZI, ids=[_id(i) for i in STRIMZI])
def test_strimzi_resources_have_the_v1_structure(item: tuple[str, dict[str, Any]]) -> None:
    jsonschema.Draft202012Validator(SCHEMAS[item[1]["kind"]]).validate(item[1])


def test_the_strimzi_schema_refuses_a_v1beta2_kafka() -> None:
    kafka = next(d for _, d in STRIMZI if d["kind"] == "Kafka")
    old = yaml.safe_load(yaml.safe_dump(kafka))
    old["spec"]["kafka"]["replicas"] = 3
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.Draft202012Validator(SCHEMAS["Kafka"]).validate(old)


def _scaled_objects() -> list[dict[str, Any]]:
    return [d for _, d in DOCUMENTS if d["kind"] == "ScaledObject"]


def test_scaled_objects_match_the_keda_crd_models_with_nothing_left_over() -> None:
    for document in _scaled_objects():
        model = ScaledObject.model_validate(document)
        assert model.model_dump(by_alias=True, exclude_unset=True, mode="json") == document


def test_the_keda_model_refuses_a_wrong_type_and_shows_an_unknown_field() -> None:
    document = yaml.safe_load(yaml.safe_dump(_scaled_objects()[0]))
    document["spec"]["maxReplicaCount"] = "twelve"
    with pytest.raises(ValueError, match="maxReplicaCount"):
        ScaledObject.model_validate(document)
    document["spec"]["maxReplicaCount"] = 12
    document["spec"]["maxReplicas"] = 12
    dumped = ScaledObject.model_validate(document).model_dump(by_alias=True, exclude_unset=True, mode="json")
    assert dumped != document, "an unknown field does not survive the model: the round trip catches it"
