"""The local-model offload services built from the settings: the RAG re-ranker and what observes its calls.

`context_ranker(settings)` is the `/v1/context` and `memlane context` re-ranker: `MEMLANE_OFFLOAD__RERANK_MODEL`
(default: the extraction's fast model) on `MEMLANE_OLLAMA_URL`. Each of its calls is observed once:
the usage record in the `memlane_llm_*` series (provider ollama, like extraction calls), the call in
`memlane_context_requests_total{reranked}`, its outcome logged as `context.rerank`, and the record published
to the usage topic (`streams.ingest.usage_writer`; the answer never waits for it). `tool_digester(settings)`
is the publisher's claim-check digester for tool outputs (extractive, or the local model when enabled).
"""

from __future__ import annotations

import structlog

from processors.offload.digest import ExtractiveDigester
from processors.offload.model_digest import OllamaDigester
from processors.offload.rerank import OllamaReranker
from schemas.errors import MemlaneError
from schemas.events import UsageRecord
from streams.ingest.usage_writer import UsageWriter
from streams.metrics import CONTEXT_CALLS
from streams.settings import Settings
from streams.workers.memory_delivery import observe_usage

log = structlog.get_logger(__name__)


def observe_rerank(record: UsageRecord) -> None:
    """Metrics and a log line for one re-ranking call."""
    observe_usage(record)
    CONTEXT_CALLS.labels(reranked=str(record.outcome == "success").lower()).inc()
    log.info(
        "context.rerank",
        model=record.model,
        outcome=record.outcome,
        error_class=record.error_class,
        tokens_in=record.tokens_in,
        tokens_out=record.tokens_out,
        latency_ms=round(record.latency_ms, 1),
        tenant=record.tenant_id,
    )


def rerank_model(settings: Settings) -> str:
    return settings.offload.rerank_model or settings.extraction.fast_model


def context_ranker(settings: Settings, *, publish_usage: bool = True) -> OllamaReranker:
    """The configured local re-ranker (falls back to the search order whenever it is unusable); with
    `publish_usage`, each call's usage record also goes to the usage topic (flushed when the ranker closes)."""
    writer = UsageWriter(settings.stream_context()) if publish_usage else None

    def on_usage(record: UsageRecord) -> None:
        observe_rerank(record)
        if writer is None:
            return
        try:
            writer.publish(record)
        except (MemlaneError, BufferError) as exc:  # a full local queue or an unencodable record: reported
            log.warning("usage.not_queued", task="context", reason=str(exc))

    return OllamaReranker.connect(
        settings.ollama_url,
        rerank_model(settings),
        settings.offload,
        on_usage=on_usage,
        on_close=writer.close if writer is not None else None,
    )


def tool_digester(settings: Settings) -> ExtractiveDigester | OllamaDigester:
    """The claim check's digester: the local model with `MEMLANE_OFFLOAD__DIGEST_WITH_MODEL`, else extractive."""
    offload = settings.offload
    if not offload.digest_with_model:
        return ExtractiveDigester(offload.digest_target_tokens)
    model = offload.digest_model or settings.extraction.fast_model
    return OllamaDigester.connect(settings.ollama_url, model, offload, on_usage=observe_usage)


__all__ = ["context_ranker", "observe_rerank", "rerank_model", "tool_digester"]
