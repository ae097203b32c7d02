"""Idempotent topic provisioning with the Kafka AdminClient.

`provision(admin, specs)` creates missing topics and compares existing ones against the catalogue:
running it twice changes nothing, and an existing topic whose partitions, replication or configs
differ is reported field by field (never silently altered). `describe_topics` backs `memlane topics list`.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from confluent_kafka import KafkaException
from confluent_kafka.admin import AdminClient, ConfigResource, NewTopic, ResourceType

from schemas.errors import TopicError
from streams.kafka.topic_catalogue import TopicSpec

_TIMEOUT_S = 30.0


@dataclass(frozen=True)
class TopicState:
    """What the cluster says about one topic."""

    name: str
    partitions: int
    replication_factor: int
    configs: dict[str, str]


@dataclass
class ProvisionReport:
    created: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    differs: dict[str, list[str]] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return not self.differs


def _wait(futures: dict[Any, Any], what: str) -> dict[Any, Any]:
    results: dict[Any, Any] = {}
    for key, future in futures.items():
        try:
            results[key] = future.result(timeout=_TIMEOUT_S)
        except KafkaException as exc:
            raise TopicError(f"{what} failed for {key}: {exc.args[0]}") from exc
    return results


def describe_topics(admin: AdminClient, names: Sequence[str] | None = None) -> dict[str, TopicState]:
    """Partitions, replication and the configs memlane cares about, for existing topics."""
    try:
        metadata = admin.list_topics(timeout=_TIMEOUT_S)
    except KafkaException as exc:
        raise TopicError(f"cannot list topics: {exc.args[0]}") from exc
    wanted = [n for n in (names if names is not None else metadata.topics) if n in metadata.topics]
    if not wanted:
        return {}
    resources = [ConfigResource(ResourceType.TOPIC, name) for name in wanted]
    described = _wait(admin.describe_configs(resources), "describe configs")
    states: dict[str, TopicState] = {}
    for resource, entries in described.items():
        topic = metadata.topics[resource.name]
        partitions = topic.partitions
        replication = len(next(iter(partitions.values())).replicas) if partitions else 0
        states[resource.name] = TopicState(
            name=resource.name,
            partitions=len(partitions),
            replication_factor=replication,
            configs={key: str(entry.value) for key, entry in entries.items()},
        )
    return states


def differences(spec: TopicSpec, state: TopicState) -> list[str]:
    """Human-readable differences between the catalogue and the cluster."""
    found: list[str] = []
    if state.partitions != spec.partitions:
        found.append(f"partitions: cluster has {state.partitions}, catalogue wants {spec.partitions}")
    if state.replication_factor != spec.replication_factor:
        found.append(
            f"replication factor: cluster has {state.replication_factor}, catalogue wants {spec.replication_factor}"
        )
    for key, wanted in spec.configs().items():
        actual = state.configs.get(key)
        if actual != wanted:
            found.append(f"{key}: cluster has {actual}, catalogue wants {wanted}")
    return found


def wait_for_leaders(admin: AdminClient, names: Sequence[str], timeout: float = _TIMEOUT_S) -> None:
    """Block until every partition of `names` has a leader (new topics need a moment)."""
    deadline = time.monotonic() + timeout
    while True:
        metadata = admin.list_topics(timeout=timeout)
        pending = [
            name
            for name in names
            if name not in metadata.topics
            or not metadata.topics[name].partitions
            or any(p.leader < 0 for p in metadata.topics[name].partitions.values())
        ]
        if not pending:
            return
        if time.monotonic() > deadline:
            raise TopicError(f"topics without partition leaders after {timeout:.0f}s: {', '.join(pending)}")
        time.sleep(0.1)


def provision(admin: AdminClient, specs: Sequence[TopicSpec]) -> ProvisionReport:
    """Create what is missing, compare what exists. Safe to run any number of times."""
    report = ProvisionReport()
    existing = describe_topics(admin, [spec.name for spec in specs])
    missing = [spec for spec in specs if spec.name not in existing]
    if missing:
        new_topics = [
            NewTopic(
                spec.name,
                num_partitions=spec.partitions,
                replication_factor=spec.replication_factor,
                config=spec.configs(),
            )
            for spec in missing
        ]
        futures = admin.create_topics(new_topics, operation_timeout=_TIMEOUT_S, request_timeout=_TIMEOUT_S)
        for name, future in futures.items():
            try:
                future.result(timeout=_TIMEOUT_S)
                report.created.append(name)
            except KafkaException as exc:
                error = exc.args[0]
                if getattr(error, "name", lambda: "")() == "TOPIC_ALREADY_EXISTS":
                    wait_for_leaders(admin, [name])  # created concurrently, or metadata was behind
                    existing.update(describe_topics(admin, [name]))
                    continue
                raise TopicError(f"cannot create topic {name}: {error}") from exc
    if report.created:
        wait_for_leaders(admin, report.created)
    for spec in specs:
        if spec.name in report.created:
            continue
        found = differences(spec, existing[spec.name])
        if found:
            report.differs[spec.name] = found
        else:
            report.unchanged.append(spec.name)
    return report


__all__ = ["ProvisionReport", "TopicState", "describe_topics", "differences", "provision"]
