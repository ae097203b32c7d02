"""What `memlane up` runs: one supervised process per pipeline component, with its command, port and probe.

    processors   memlane worker processors      turns -> requests + skip records
    extract      memlane worker extract         requests -> memories + usage; failures -> DLQ
    fallback     memlane worker fallback        DLQ -> Claude (only with MEMLANE_ANTHROPIC_API_KEY)
    sink-blobs   memlane worker sink-blobs      requests -> windows in the blob store
    sink-qdrant  memlane worker sink-qdrant     memories -> Qdrant (only with MEMLANE_QDRANT_URL: on the
                                                embedded store `serve` runs the memory sink itself)
    summarise    memlane worker summarise       requests -> summary memories (levels 1-3); level-3 failures -> DLQ
                                                (unless MEMLANE_SUMMARY__ENABLED=false)
    label        memlane worker label           memories -> label batches on memories (the local model's
                                                labels; off with MEMLANE_LABELS__ENABLED=false)
    serve        memlane serve                  search API, the embedded memory sink, the lag exporter

Each worker gets `MEMLANE_METRICS_PORT` (from `ops.metrics_base_port` up) for `/metrics`, `/healthz` and
`/readyz`; `serve` answers them on its own metrics port too, and its API on `ops.serve_port`.
"""

from __future__ import annotations

from dataclasses import dataclass

from streams.settings import Settings
from streams.wiring.processes import serve_command, worker_command

SERVE = "serve"


@dataclass(frozen=True)
class Component:
    name: str
    command: tuple[str, ...]
    metrics_port: int
    group: str | None
    """The consumer group whose lag is this component's (None: it consumes none of its own)."""

    @property
    def probe_url(self) -> str:
        return f"http://127.0.0.1:{self.metrics_port}"


def components(settings: Settings) -> list[Component]:
    """The components of this deployment, in start order."""
    ops, ex, sinks = settings.ops, settings.extraction, settings.sinks
    names = ["processors", "extract"]
    if settings.anthropic_api_key is not None:
        names.append("fallback")
    names.append("sink-blobs")
    if settings.qdrant_url is not None:
        names.append("sink-qdrant")
    if settings.summary.enabled:
        names.append("summarise")
    if settings.labels.enabled:
        names.append("label")
    groups = {
        "processors": settings.processor_app.app_id,
        "extract": ex.worker_group_id,
        "fallback": ex.fallback_group_id,
        "sink-blobs": sinks.blob_sink_group_id,
        "sink-qdrant": sinks.qdrant_sink_group_id,
        "summarise": settings.summary.group_id,
        "label": settings.labels.group_id,
    }
    made = [
        Component(name, tuple(worker_command(name)), ops.metrics_base_port + index, groups[name])
        for index, name in enumerate(names)
    ]
    serve_group = sinks.qdrant_sink_group_id if settings.qdrant_url is None else None
    made.append(
        Component(SERVE, tuple(serve_command(port=ops.serve_port)), ops.metrics_base_port + len(names), serve_group)
    )
    return made


__all__ = ["SERVE", "Component", "components"]
