"""Where a replay lives: its name, its arms, and the shadow settings that keep it away from production.

A replay named `ab1` owns everything under one prefix, so it can be listed and removed without a doubt:

    topics            memlane-replay.ab1.<production topic>            (the shared input: turns, requests, ...)
                      memlane-replay.ab1.<arm>.<production topic>      (each arm's memories, usage, DLQ, ...)
    consumer groups   memlane-replay.ab1.processors, memlane-replay.ab1.<arm>.extract, ...
    workspace         <state dir>/replays/ab1/  (manifest, RocksDB tables, blob store, embedded Qdrant)
    collections       memlane-replay-ab1-<arm>  (on a Qdrant server; embedded shards live in the workspace)

Names and arm ids are lowercase letters, digits, `-` and `_` (no dots), so no replay's prefix is a prefix
of another's. Every arm reads the shared turns, requests and skip records with its own groups; its outputs (memories,
usage, DLQ, quarantine) are its own. The
blob store of a replay is its own and reads production's objects through (`ReadThroughBlobStore`), so
claim-checked content is seen but production's store is never written.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from schemas.errors import ConfigError
from streams.kafka.topic_catalogue import TopicNames
from streams.settings import Settings

NAME = re.compile(r"^[a-z0-9][a-z0-9_-]{0,39}$")
PREFIX = "memlane-replay."
ArmKind = Literal["heuristic", "ollama", "claude"]
ARM_KINDS: tuple[ArmKind, ...] = ("heuristic", "ollama", "claude")
SHARED_TOPICS = ("turns", "requests", "skipped")
"""The topics every arm reads from the replay's shared part (what the processors made); the rest are its own."""


def check_name(name: str) -> str:
    if not NAME.match(name):
        raise ConfigError(
            f"replay name {name!r}: use 1-40 lowercase letters, digits, '-' or '_' (starting with a letter or digit)"
        )
    return name


@dataclass(frozen=True)
class ArmSpec:
    """One extractor under comparison: `heuristic`, `ollama`, `ollama:MODEL`, `claude` or `claude:MODEL`."""

    kind: ArmKind
    model: str | None = None

    @classmethod
    def parse(cls, text: str) -> ArmSpec:
        kind, _, model = text.strip().partition(":")
        if kind not in ARM_KINDS:
            raise ConfigError(f"extractor {text!r}: expected one of {', '.join(ARM_KINDS)} (optionally :MODEL)")
        if kind == "heuristic" and model:
            raise ConfigError(f"extractor {text!r}: the heuristic extractor has no model")
        return cls(kind, model or None)  # type: ignore[arg-type]

    @property
    def label(self) -> str:
        return f"{self.kind}:{self.model}" if self.model else self.kind

    @property
    def arm_id(self) -> str:
        """The arm's part of topic, group and collection names."""
        return re.sub(r"[^a-z0-9_-]+", "-", self.label.lower()).strip("-")


def arm_specs(texts: list[str]) -> list[ArmSpec]:
    """The arms `--extractor` names, each once, with distinct ids."""
    specs = [ArmSpec.parse(text) for text in texts]
    if not specs:
        raise ConfigError("a replay needs at least one --extractor")
    ids = [spec.arm_id for spec in specs]
    if len(set(ids)) != len(ids):
        raise ConfigError(f"the extractors {', '.join(s.label for s in specs)} are not distinct arms")
    return specs


@dataclass(frozen=True)
class ReplayNamespace:
    """The names and settings of replay `name` over the production deployment `production`."""

    production: Settings
    name: str

    @property
    def prefix(self) -> str:
        return f"{PREFIX}{self.name}."

    @property
    def workspace(self) -> Path:
        return (self.production.state_dir / "replays" / self.name).resolve()

    @property
    def manifest_path(self) -> Path:
        return self.workspace / "replay.json"

    def collection(self, arm: ArmSpec) -> str:
        return f"memlane-replay-{self.name}-{arm.arm_id}"

    def shared(self) -> Settings:
        """Settings of the replay's shared part: its input topics, its processors, its blob store."""
        base = self.production
        topics = base.topics.prefixed(self.prefix)
        processor_app = base.processor_app.model_copy(
            update={
                "app_id": f"{self.prefix}processors",
                "data_dir": self.workspace / "processors",
                "drain_flush_s": 2.0,
            }
        )
        sinks = base.sinks.model_copy(
            update={
                "qdrant_path": self.workspace / "qdrant",
                "collection": f"memlane-replay-{self.name}",  # the dedupe lookup sees the replay's own memories
                "blob_sink_group_id": f"{self.prefix}sink-blobs",
                "qdrant_sink_group_id": f"{self.prefix}sink-qdrant",
            }
        )
        read_through = base.blob_read_through_dir or base.blob_dir.resolve()
        return base.model_copy(
            update={
                "topics": topics,
                "state_dir": self.workspace,
                "processor_app": processor_app,
                "sinks": sinks,
                "blob_read_through_dir": read_through,
            }
        )

    def arm(self, arm: ArmSpec) -> Settings:
        """Settings of one arm: the shared requests, its own outputs, groups and collection, its extractor."""
        shared = self.shared()
        own = self.production.topics.prefixed(f"{self.prefix}{arm.arm_id}.")
        inputs = {name: getattr(shared.topics, name) for name in SHARED_TOPICS}
        topics = TopicNames(**{**own.model_dump(), **inputs})
        group = f"{self.prefix}{arm.arm_id}"
        updates: dict[str, object] = {
            "worker_group_id": f"{group}.extract",
            "fallback_group_id": f"{group}.fallback",
        }
        if arm.kind == "ollama" and arm.model:
            updates |= {"fast_model": arm.model, "complex_model": arm.model}
        if arm.kind == "claude" and arm.model:
            updates["claude_model"] = arm.model
        extraction = shared.extraction.model_copy(update=updates)
        sinks = shared.sinks.model_copy(
            update={"collection": self.collection(arm), "qdrant_sink_group_id": f"{group}.sink-qdrant"}
        )
        extractor = arm.kind if arm.kind != "claude" else "heuristic"  # the Claude arm is built explicitly
        return shared.model_copy(
            update={"topics": topics, "extraction": extraction, "sinks": sinks, "extractor": extractor}
        )


__all__ = ["ARM_KINDS", "PREFIX", "ArmKind", "ArmSpec", "ReplayNamespace", "arm_specs", "check_name"]
