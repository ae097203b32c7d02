"""The components memlane runs as processes, each with its metrics port: the one table every artefact reads.

The port convention: each long-lived process serves `/metrics` (and `/healthz`, `/readyz`) on its own
`MEMLANE_METRICS_PORT`; a host running the whole pipeline gives each component its port below, so a
Prometheus scrape job per component finds it. `memlane serve` serves `/metrics` on its API port.

    component     command                      metrics port   consumer group (settings)
    processors    memlane worker processors    9101           processor_app.app_id
    extract       memlane worker extract       9102           extraction.worker_group_id
    fallback      memlane worker fallback      9103           extraction.fallback_group_id
    sink-qdrant   memlane worker sink-qdrant   9104           sinks.qdrant_sink_group_id
    sink-blobs    memlane worker sink-blobs    9105           sinks.blob_sink_group_id
    summarise     memlane worker summarise     9106           summary.group_id
    label         memlane worker label         9107           labels.group_id
    serve         memlane serve                8080 (API)     -

`modules` are where the component's code starts: a metric referenced by one of them, or by anything they
import, is exported by that component (`streams.deploy.metric_catalogue`). The shared worker modules (the
worker command, the wiring that builds every worker) run in each worker, so what they reference themselves
counts for each of them (their imports do not: they import every worker).
"""

from __future__ import annotations

from dataclasses import dataclass

from streams.settings import Settings

WORKER_COMMAND = "streams.cli.worker_cmd"


@dataclass(frozen=True)
class Component:
    """One long-lived memlane process kind."""

    name: str
    command: tuple[str, ...]
    metrics_port: int
    modules: tuple[str, ...]
    summary: str
    metrics_path: str = "/metrics"
    health_path: str = "/healthz"
    ready_path: str = "/readyz"

    @property
    def job(self) -> str:
        """The Prometheus job (and Kubernetes app component) name."""
        return f"memlane-{self.name}"

    @property
    def is_worker(self) -> bool:
        return self.command[:2] == ("memlane", "worker")


def _worker(name: str, port: int, module: str, summary: str) -> Component:
    return Component(name, ("memlane", "worker", name), port, (module,), summary)


COMPONENTS: tuple[Component, ...] = (
    _worker(
        "processors", 9101, "streams.processor_app.worker", "change detection, dedupe, priority: turns -> requests"
    ),
    _worker("extract", 9102, "streams.workers.extract", "extraction over Ollama: requests -> memories, DLQ"),
    _worker("fallback", 9103, "streams.workers.fallback", "the DLQ drained to Claude"),
    _worker("sink-qdrant", 9104, "streams.workers.sink_qdrant", "memories -> embeddings -> Qdrant"),
    _worker("sink-blobs", 9105, "streams.workers.sink_blobs", "request windows -> the blob store"),
    _worker(
        "summarise", 9106, "streams.workers.summarise", "hierarchical summaries over Ollama: requests -> summaries"
    ),
    _worker("label", 9107, "streams.workers.label", "memories -> local-model labels -> label batches (memories)"),
    Component(
        "serve",
        ("memlane", "serve"),
        8080,
        ("streams.cli.serve_cmd",),
        "memory search API (and the consumer-lag exporter)",
        ready_path="/healthz",
    ),
)
SHARED_WORKER_MODULES: tuple[str, ...] = (WORKER_COMMAND, "streams.wiring.workers")


def component(name: str) -> Component:
    """The component called `name`."""
    for item in COMPONENTS:
        if item.name == name:
            return item
    raise KeyError(name)


def consumer_groups(settings: Settings) -> dict[str, str]:
    """Component name -> the consumer group it commits in (the workers only)."""
    return {
        "processors": settings.processor_app.app_id,
        "extract": settings.extraction.worker_group_id,
        "fallback": settings.extraction.fallback_group_id,
        "sink-qdrant": settings.sinks.qdrant_sink_group_id,
        "sink-blobs": settings.sinks.blob_sink_group_id,
        "summarise": settings.summary.group_id,
        "label": settings.labels.group_id,
    }


def input_topics(settings: Settings) -> dict[str, str]:
    """Component name -> the topic its consumer group reads (the workers only)."""
    topics = settings.topics
    return {
        "processors": topics.turns,
        "extract": topics.requests,
        "fallback": topics.dlq,
        "sink-qdrant": topics.memories,
        "sink-blobs": topics.requests,
        "summarise": topics.requests,
        "label": topics.memories,
    }


__all__ = [
    "COMPONENTS",
    "SHARED_WORKER_MODULES",
    "Component",
    "component",
    "consumer_groups",
    "input_topics",
]
