"""The topic catalogue: every memlane topic declared once with its name, partitions, retention and policies.

`TopicNames` is the `MEMLANE_TOPICS__*` section (one name per topic); `topic_catalogue` says what each topic
is for and how it is configured. Provisioning (creating, comparing) lives in `streams.kafka.provision`.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field

from pydantic import BaseModel, ConfigDict

DAY_MS = 24 * 3600 * 1000


class TopicNames(BaseModel):
    """Names of memlane's topics (`MEMLANE_TOPICS__TURNS=...`)."""

    model_config = ConfigDict(use_attribute_docstrings=True)

    turns: str = "memlane.turns.v1"
    """Conversation turns as chat platforms publish them (keyed by tenant and conversation)."""
    skipped: str = "memlane.turns.skipped.v1"
    """Skip records: each turn the processors did not forward, with its reason."""
    requests: str = "memlane.extraction.requests.v1"
    """Extraction requests: windows of forwarded turns for the extraction workers."""
    memories: str = "memlane.memories.v1"
    """Memory batches from extraction, the fallback and the write API, for the sinks."""
    dlq: str = "memlane.extraction.dlq.v1"
    """Requests whose extraction failed, parked for the Claude fallback (dead-letter topic)."""
    quarantine: str = "memlane.quarantine.v1"
    """Undecodable or invalid records, with their raw bytes and `memlane.error.*` headers."""
    usage: str = "memlane.usage.v1"
    """One usage record per LLM call (tokens, latency, model, cost)."""
    summary_blocks: str = "memlane.summary.blocks.v1"
    """The summarise worker's open level-2 blocks, one JSON record per conversation (compacted)."""

    def prefixed(self, prefix: str) -> TopicNames:
        """The same topics under `prefix` (a run's or a replay's own namespace)."""
        return TopicNames(**{name: f"{prefix}{value}" for name, value in self.model_dump().items()})

    def all(self) -> list[str]:
        return list(self.model_dump().values())


@dataclass(frozen=True)
class TopicSpec:
    """How one topic must be configured."""

    name: str
    purpose: str
    partitions: int
    retention_ms: int
    cleanup_policy: str = "delete"
    min_insync_replicas: int = 1
    replication_factor: int = 1
    extra: dict[str, str] = field(default_factory=dict)

    def configs(self) -> dict[str, str]:
        """Topic-level configs as Kafka names them."""
        return {
            "retention.ms": str(self.retention_ms),
            "cleanup.policy": self.cleanup_policy,
            "min.insync.replicas": str(self.min_insync_replicas),
            **self.extra,
        }


def topic_catalogue(
    names: TopicNames,
    *,
    partitions: int,
    replication_factor: int = 1,
    min_insync_replicas: int = 1,
    max_message_bytes: int | None = None,
) -> list[TopicSpec]:
    """Every topic memlane owns, configured for this deployment (`max_message_bytes`: the topics' limit)."""
    sizes = {} if max_message_bytes is None else {"max.message.bytes": str(max_message_bytes)}
    replicas = replication_factor
    min_isr = min(min_insync_replicas, replicas)

    def spec(name: str, purpose: str, days: int, parts: int = partitions) -> TopicSpec:
        return TopicSpec(
            name=name,
            purpose=purpose,
            partitions=parts,
            retention_ms=days * DAY_MS if days > 0 else -1,
            min_insync_replicas=min_isr,
            replication_factor=replicas,
            extra={"message.timestamp.type": "CreateTime", **sizes},
        )

    return [
        spec(names.turns, "ConversationTurn events from chat platforms (key conversation_id)", 90),
        spec(names.skipped, "SkipRecord audit: why a turn did not reach the LLM", 30),
        spec(names.requests, "ExtractionRequest windows for the extraction workers", 14),
        spec(names.memories, "MemoryBatch results with lineage", 90),
        # parked messages wait for an operator or a redrive: retention never deletes them
        spec(names.dlq, "raw ExtractionRequest bytes that failed extraction, with memlane.error.* headers", 0),
        spec(names.quarantine, "undecodable input, raw bytes with memlane.error.* headers", 0),
        spec(names.usage, "UsageRecord per LLM call: tokens, latency, cost", 90),
        # state, not history: compaction keeps each conversation's latest open block
        dataclasses.replace(
            spec(
                names.summary_blocks, "open level-2 summary blocks per conversation (JSON, key tenant+conversation)", 0
            ),
            cleanup_policy="compact",
        ),
    ]


__all__ = ["DAY_MS", "TopicNames", "TopicSpec", "topic_catalogue"]
