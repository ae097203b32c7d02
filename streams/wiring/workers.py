"""The six workers built from the settings: what `memlane worker NAME`, `memlane run` and the benchmarks start.

Each `build_*` returns the worker's consumer loop and its sink (or, for the processors, its `WorkerConfig`);
each `run_*` runs it until stopped or idle for `idle_exit_s` and returns its counts. Stores and extractors
a caller passes in stay the caller's; those built here are closed with the worker.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import TYPE_CHECKING, Any, TypeVar

import structlog

from processors.dedupe import HashingEmbedder, MemoryLookup, TurnEmbedder
from processors.extraction import DailyBudget, Extractor
from processors.extraction.extractor_factory import build_fallback, choose_extractor
from processors.offload.labels import Labeller
from sinks.blobstore import BlobStore
from sinks.memory_store import MemoryStore
from sinks.memory_store.tags import TAG_VOCAB
from streams.ingest.claim_check import TextClaimCheck
from streams.kafka.consumer import read_topic
from streams.kafka.producer import ReliableProducer
from streams.kafka.worker_spec import WorkerSpec, build_worker
from streams.processor_app.app_settings import ProcessorAppSettings
from streams.processor_app.config import WorkerConfig
from streams.settings import Settings
from streams.wiring.groups import pipeline_groups, verifier_groups, worker_inputs
from streams.wiring.stores import blob_store, embedder, memory_store
from streams.workers import extract, fallback, label, sink_blobs, sink_qdrant, summarise
from streams.workers.memory_delivery import max_poll_interval_ms
from streams.workers.worker_sink import WorkerCounts, WorkerSink

if TYPE_CHECKING:
    from processors.offload.summaries import Summariser

log = structlog.get_logger(__name__)


def extractor_for(settings: Settings, blobs: BlobStore | None = None) -> Extractor:
    """The extractor `MEMLANE_EXTRACTOR` names (Ollama health decides `auto`)."""
    return choose_extractor(settings.extractor, settings.extraction, ollama_url=settings.ollama_url, blobs=blobs)


def fallback_extractor_for(settings: Settings, blobs: BlobStore | None = None) -> Extractor:
    """The Claude extractor with the daily budget shared by this state directory's fallback workers."""
    budget = DailyBudget(settings.extraction.daily_token_budget, state_path=settings.budget_path)
    key = settings.anthropic_api_key.get_secret_value() if settings.anthropic_api_key else None
    return build_fallback(
        settings.extraction, api_key=key, base_url=settings.anthropic_base_url, blobs=blobs, budget=budget
    )


C = TypeVar("C", bound=WorkerCounts)


def serve(
    spec: WorkerSpec[Any],
    settings: Settings,
    sink_for: Callable[[ReliableProducer], WorkerSink[Any, C]],
    *,
    group_id: str,
    batch_size: int,
    idle_exit_s: float | None,
    overflow: BlobStore,
    max_poll_interval_ms: int | None = None,
) -> C:
    """Run worker `spec` with the sink `sink_for` builds until stopped (or idle for `idle_exit_s`); its counts.

    Values too large to park keep their full bytes in `overflow` (the blob store)."""
    loop, sink = build_worker(
        spec,
        settings.stream_context(),
        sink_for,
        group_id=group_id,
        batch_size=batch_size,
        max_poll_interval_ms=max_poll_interval_ms,
        overflow=overflow,
    )
    stats = loop.serve(idle_exit_s=idle_exit_s)
    log.info("worker.stopped", component=spec.component, batches=stats.batches, quarantined=stats.quarantined)
    sink.counts.quarantined += stats.quarantined
    return sink.counts


def run_extract(
    settings: Settings, *, idle_exit_s: float | None = None, extractor: Extractor | None = None
) -> extract.ExtractionCounts:
    """The extraction worker with `extractor`, or the one `MEMLANE_EXTRACTOR` names."""
    ex, ctx = settings.extraction, settings.stream_context()
    with blob_store(settings) as blobs:
        chosen = extractor or extractor_for(settings, blobs)
        log.info("extract.worker", extractor=chosen.name)
        poll_ms = max_poll_interval_ms(ex.worker_batch_size, ex.ollama_parallelism, ex.request_timeout_s)
        sink_for = partial(extract.ExtractionSink, ctx, chosen, parallelism=ex.ollama_parallelism, overflow=blobs)
        return serve(
            extract.SPEC,
            settings,
            sink_for,
            group_id=ex.worker_group_id,
            batch_size=ex.worker_batch_size,
            idle_exit_s=idle_exit_s,
            overflow=blobs,
            max_poll_interval_ms=poll_ms,
        )


def run_fallback(
    settings: Settings, *, idle_exit_s: float | None = None, extractor: Extractor | None = None
) -> fallback.FallbackCounts:
    """The DLQ consumer with `extractor`, or Claude with this state directory's daily budget; with Claude it also
    writes the level-3 summaries the local model could not."""
    ex, ctx = settings.extraction, settings.stream_context()
    with blob_store(settings) as blobs:
        chosen = extractor or fallback_extractor_for(settings, blobs)
        from processors.extraction.claude_extractor import ClaudeExtractor
        from processors.offload.claude_summary import ClaudeSummariser

        poll_ms = max_poll_interval_ms(ex.fallback_batch_size, 1, ex.request_timeout_s, attempts=ex.backoff_attempts)
        summaries = (
            ClaudeSummariser(chosen, settings.summary).summarise if isinstance(chosen, ClaudeExtractor) else None
        )
        sink_for = partial(
            fallback.FallbackSink,
            ctx,
            chosen,
            park_cooldown_s=ex.fallback_park_cooldown_s,
            overflow=blobs,
            summarise=summaries,
        )
        return serve(
            fallback.SPEC,
            settings,
            sink_for,
            group_id=ex.fallback_group_id,
            batch_size=ex.fallback_batch_size,
            idle_exit_s=idle_exit_s,
            overflow=blobs,
            max_poll_interval_ms=poll_ms,
        )


def summariser_for(settings: Settings) -> Summariser:
    """The local summariser: `MEMLANE_SUMMARY__MODEL`, else the extraction's fast model (level 1) and complex
    model (levels 2 and 3) on `MEMLANE_OLLAMA_URL`."""
    from processors.offload.summaries import Summariser

    chosen = settings.summary.model
    task = Summariser.connect(settings.ollama_url, chosen or settings.extraction.fast_model, settings.summary)
    task.complex_model = None if chosen else settings.extraction.complex_model
    return task


def run_summarise(
    settings: Settings, *, idle_exit_s: float | None = None, summariser: Summariser | None = None
) -> summarise.SummariseCounts:
    """The summarise worker with `summariser`, or the local one of `summariser_for`."""
    ctx, summary = settings.stream_context(), settings.summary
    task = summariser or summariser_for(settings)
    with blob_store(settings) as blobs:
        poll_ms = max_poll_interval_ms(summary.batch_size, 1, summary.timeout_s, attempts=2)
        sink_for = partial(
            summarise.SummariseSink,
            ctx,
            task.summarise,
            settings=summary,
            read_states=partial(read_topic, ctx.kafka, ctx.topics.summary_blocks),
            model=task.model,
            overflow=blobs,
            close=task.close if summariser is None else None,
        )
        return serve(
            summarise.SPEC,
            settings,
            sink_for,
            group_id=summary.group_id,
            batch_size=summary.batch_size,
            idle_exit_s=idle_exit_s,
            overflow=blobs,
            max_poll_interval_ms=poll_ms,
        )


def run_sink_qdrant(
    settings: Settings,
    *,
    idle_exit_s: float | None = None,
    store: MemoryStore | None = None,
    group_id: str | None = None,
    batch_size: int | None = None,
) -> sink_qdrant.QdrantSinkCounts:
    """The memory sink over `store`, or over the configured store opened with its per-upsert flush off."""
    target = store or memory_store(settings, sink_settings=sink_qdrant.sink_settings(settings.sinks))
    with blob_store(settings) as overflow:
        return serve(
            sink_qdrant.SPEC,
            settings,
            lambda _producer: sink_qdrant.QdrantSink(target, owns_store=store is None),
            group_id=group_id or settings.sinks.qdrant_sink_group_id,
            batch_size=batch_size or settings.sinks.sink_batch_size,
            idle_exit_s=idle_exit_s,
            overflow=overflow,
        )


def run_sink_blobs(
    settings: Settings,
    *,
    idle_exit_s: float | None = None,
    blobs: BlobStore | None = None,
    group_id: str | None = None,
    batch_size: int | None = None,
) -> sink_blobs.BlobSinkCounts:
    """The blob sink over `blobs`, or over the blob store of the state directory."""
    target = blobs or blob_store(settings)
    return serve(
        sink_blobs.SPEC,
        settings,
        lambda _producer: sink_blobs.BlobSink(target, owns_store=blobs is None),
        group_id=group_id or settings.sinks.blob_sink_group_id,
        batch_size=batch_size or settings.sinks.sink_batch_size,
        idle_exit_s=idle_exit_s,
        overflow=target,
    )


def label_model(settings: Settings) -> str:
    """The model that labels: `MEMLANE_LABELS__MODEL`, else the extraction's fast model."""
    return settings.labels.model or settings.extraction.fast_model


def labeller_for(settings: Settings, *, url: str | None = None, model: str | None = None) -> Labeller:
    """The configured labeller on `MEMLANE_OLLAMA_URL` (or `url`), offered the heuristic tag vocabulary."""
    task = Labeller.connect(url or settings.ollama_url, model or label_model(settings), settings.labels)
    task.vocabulary = TAG_VOCAB
    return task


def run_label(
    settings: Settings,
    *,
    idle_exit_s: float | None = None,
    labeller: Labeller | None = None,
    group_id: str | None = None,
) -> label.LabelCounts:
    """The label worker with `labeller`, or the configured one: memories -> label batches on the memories topic."""
    s, ctx = settings.labels, settings.stream_context()
    chosen = labeller or labeller_for(settings)
    log.info("label.worker", model=chosen.model)
    calls = -(-s.worker_batch_size * 4 // s.batch_size)  # a guess of the memories a poll brings: 4 per batch
    poll_ms = max_poll_interval_ms(calls, 1, s.timeout_s)
    with blob_store(settings) as overflow:
        return serve(
            label.SPEC,
            settings,
            partial(label.LabelSink, ctx, chosen, batch_size=s.batch_size),
            group_id=group_id or s.group_id,
            batch_size=s.worker_batch_size,
            idle_exit_s=idle_exit_s,
            overflow=overflow,
            max_poll_interval_ms=poll_ms,
        )


def dedupe_sources(settings: Settings) -> tuple[TurnEmbedder | None, MemoryLookup | None]:
    """The dedupe stage's embedder and, with the model embedder and a Qdrant server, the memory lookup.

    The embedded Qdrant shard belongs to the sink process, so existing memories are only consulted
    through a server (`MEMLANE_QDRANT_URL`); otherwise near-duplicates are checked against recent turns.
    """
    choice = settings.processor_app.embedder
    if choice == "none":
        return None, None
    if choice == "hashing":
        return HashingEmbedder(), None
    model = embedder(settings)
    if not settings.qdrant_url:
        return model, None
    from sinks.memory_store.lookup import MemoryStoreLookup

    return model, MemoryStoreLookup(memory_store(settings, model))


def processors_config(
    settings: Settings, app_settings: ProcessorAppSettings | None = None, *, blobs: BlobStore | None = None
) -> WorkerConfig:
    """What one processors worker of `settings` is given (`blobs`: the claim check and overflow store)."""
    app = app_settings or settings.processor_app
    embedder_, memories = dedupe_sources(settings)
    sinks = settings.sinks
    offload = (
        TextClaimCheck(blobs, threshold_chars=sinks.claim_check_chars, preview_chars=sinks.claim_check_preview_chars)
        if blobs is not None
        else None
    )
    return WorkerConfig(
        ctx=settings.stream_context(),
        stages=settings.processors,
        app=app,
        table_dir=(app.data_dir or settings.state_dir / "processors").resolve(),
        replication_factor=settings.topic_replication_factor,
        embedder=embedder_,
        memories=memories,
        offload=offload,
        overflow=blobs,
    )


def run_processors(settings: Settings, *, idle_exit_s: float | None = None) -> None:
    """Run one processors worker in this process until stopped (or idle for `idle_exit_s`)."""
    from streams.processor_app.worker import run_worker

    with blob_store(settings) as blobs:
        run_worker(processors_config(settings, blobs=blobs), idle_exit_s=idle_exit_s)


WORKERS: dict[str, Callable[..., Any]] = {
    "processors": run_processors,
    "extract": run_extract,
    "fallback": run_fallback,
    "sink-qdrant": run_sink_qdrant,
    "sink-blobs": run_sink_blobs,
    "summarise": run_summarise,
    "label": run_label,
}
"""`memlane worker NAME` -> the function that runs it (`run(settings, idle_exit_s=...)`)."""


__all__ = [
    "WORKERS",
    "dedupe_sources",
    "extractor_for",
    "fallback_extractor_for",
    "label_model",
    "labeller_for",
    "pipeline_groups",
    "processors_config",
    "run_extract",
    "run_fallback",
    "run_label",
    "run_processors",
    "run_sink_blobs",
    "run_sink_qdrant",
    "run_summarise",
    "serve",
    "summariser_for",
    "verifier_groups",
    "worker_inputs",
]
