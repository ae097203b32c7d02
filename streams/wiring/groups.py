"""Which consumer group reads which topic: the verifier's groups, each worker's input, what `memlane lag`
watches. Apart from the workers themselves, so that readers of lag (serve, the supervisor) import no worker."""

from __future__ import annotations

from streams.settings import Settings
from streams.verifier import Groups


def verifier_groups(settings: Settings) -> Groups:
    """The consumer groups whose committed offsets tell the verifier what is still pending."""
    ex, sinks = settings.extraction, settings.sinks
    return Groups(
        processors=settings.processor_app.app_id,
        extract=ex.worker_group_id,
        fallback=ex.fallback_group_id,
        sink_qdrant=sinks.qdrant_sink_group_id,
        sink_blobs=sinks.blob_sink_group_id,
        summarise=settings.summary.group_id,
    )


def pipeline_groups(settings: Settings) -> dict[str, list[str]]:
    """Every consumer group of the pipeline and the topics it consumes (what `memlane lag` watches)."""
    groups: dict[str, list[str]] = {}
    for group, topic in worker_inputs(settings).values():
        groups.setdefault(group, []).append(topic)
    return groups


def worker_inputs(settings: Settings) -> dict[str, tuple[str, str]]:
    """`memlane worker NAME` -> (its consumer group, the topic it reads): where each worker's lag is."""
    groups, topics = verifier_groups(settings), settings.topics
    return {
        "processors": (groups.processors, topics.turns),
        "extract": (groups.extract, topics.requests),
        "fallback": (groups.fallback, topics.dlq),
        "sink-qdrant": (groups.sink_qdrant, topics.memories),
        "sink-blobs": (groups.sink_blobs, topics.requests),
        "summarise": (settings.summary.group_id, topics.requests),
        "label": (settings.labels.group_id, topics.memories),
    }


__all__ = ["pipeline_groups", "verifier_groups", "worker_inputs"]
