"""Every Prometheus metric memlane exports, declared in one place (names `memlane_*`, base units).

Components import the metric objects they update; `serve_metrics(port)` exposes `/metrics` (and the
`/healthz`, `/readyz` probes of `streams.health`) for a process when `MEMLANE_METRICS_PORT` is set.
Counters are cumulative per process; the accounting invariant (published = skipped + in requests +
quarantined) is checked on the topics themselves, not on these counters.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterable
from socketserver import ThreadingMixIn
from typing import Any, cast
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

import structlog
from prometheus_client import Counter, Gauge, Histogram, make_wsgi_app

from streams.health import HEALTH

# -- consumer loops (all workers) -------------------------------------------------------------------
MESSAGES_CONSUMED = Counter("memlane_messages_consumed_total", "Messages read by a worker", ["component"])
BATCHES_COMMITTED = Counter("memlane_batches_committed_total", "Batches whose offsets were committed", ["component"])
BATCH_FAILURES = Counter("memlane_batch_failures_total", "Batches retried after an error", ["component"])
BATCH_SECONDS = Histogram(
    "memlane_batch_duration_seconds",
    "Time to process, flush and commit one batch",
    ["component"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
)
QUARANTINED = Counter("memlane_quarantined_total", "Messages parked in quarantine", ["stage", "error_class"])

# -- stream processors -------------------------------------------------------------------------------
TURNS_IN = Counter("memlane_turns_in_total", "Turns read by the processors")
TURNS_SKIPPED = Counter("memlane_turns_skipped_total", "Turns not forwarded to extraction", ["stage", "reason"])
REQUESTS_OUT = Counter("memlane_requests_out_total", "Extraction requests emitted", ["trigger", "priority_class"])
TOKENS_SEEN = Counter("memlane_tokens_seen_total", "Turn tokens read by the processors")
TOKENS_FORWARDED = Counter("memlane_tokens_forwarded_total", "Turn tokens forwarded to extraction")
PROCESSOR_ISOLATED = Counter(
    "memlane_processor_isolated_total",
    "Turns quarantined or windows ended because processing their conversation raised (the rest kept flowing)",
)
OFFSET_GAPS = Counter(
    "memlane_processor_offset_gaps_total", "Turn offsets the stream skipped, sought back and read again"
)

# -- extraction and fallback ------------------------------------------------------------------------
EXTRACTIONS = Counter("memlane_extractions_total", "Extraction requests finished", ["extractor", "outcome"])
LLM_CALLS = Counter("memlane_llm_calls_total", "LLM calls", ["provider", "model", "outcome"])
LLM_LATENCY = Histogram(
    "memlane_llm_latency_seconds",
    "LLM call latency",
    ["provider"],
    buckets=(0.05, 0.1, 0.25, 0.5, 1, 2, 4, 8, 15, 30, 60, 120),
)
LLM_TOKENS = Counter("memlane_llm_tokens_total", "LLM tokens", ["provider", "direction"])
LLM_COST = Counter("memlane_llm_cost_usd_total", "Estimated LLM cost in US dollars", ["provider"])
TOKENS_SAVED = Counter(
    "memlane_tokens_saved_total", "Tokens handled locally that a cloud-only pipeline would have paid for"
)
EXTRACTION_FAILURES = Counter(
    "memlane_extraction_failures_total", "Extractions that failed, per model and error class", ["model", "error_class"]
)
EXTRACTION_REPAIRS = Counter(
    "memlane_extraction_repairs_total", "Safe repairs made to model answers, per model and repair", ["model", "repair"]
)
PROMPT_MISMATCHES = Counter(
    "memlane_prompt_token_mismatches_total", "Prompts the server counted far off the estimate", ["model"]
)
DLQ_PARKED = Counter("memlane_dlq_parked_total", "Requests parked in the dead-letter topic", ["model", "error_class"])
FALLBACK = Counter("memlane_fallback_total", "DLQ requests handled by the fallback", ["outcome"])
CIRCUIT_OPEN = Gauge("memlane_circuit_open", "1 while the extraction circuit breaker is open", ["breaker"])
CLAUDE_BUDGET_REMAINING = Gauge(
    "memlane_claude_budget_remaining_tokens", "Tokens left in the fallback's daily Claude budget"
)
CLAUDE_BUDGET_LIMIT = Gauge("memlane_claude_budget_limit_tokens", "The fallback's daily Claude token budget")

# -- sinks ------------------------------------------------------------------------------------------------
MEMORIES_WRITTEN = Counter("memlane_memories_written_total", "Memories upserted into the memory store", ["action"])
BLOBS_WRITTEN = Counter("memlane_blobs_written_total", "Blobs written by the blob sink", ["created"])
TURN_TO_SEARCHABLE = Histogram(
    "memlane_turn_to_searchable_seconds",
    "From a turn's publication to its memory being searchable",
    ["priority_class"],
    buckets=(1, 5, 15, 30, 60, 120, 300, 600, 1200, 1800, 3600, 7200),
)

# -- operations (lag exporter, supervisor) -------------------------------------------------------------
CONSUMER_LAG = Gauge(
    "memlane_consumergroup_lag", "Messages not yet consumed by a group", ["group", "topic", "partition"]
)
CONSUMER_LAG_SECONDS = Gauge(
    "memlane_consumergroup_lag_seconds",
    "Age of the oldest message a group has not consumed (0 when caught up)",
    ["group", "topic", "partition"],
)
PARTITION_STALLED = Gauge(
    "memlane_partition_stalled",
    "1 while a group has lag on a partition and its committed offset has not moved for the stall time",
    ["group", "topic", "partition"],
)
COMPONENT_RESTARTS = Counter(
    "memlane_component_restarts_total", "Components the supervisor restarted after they died", ["component"]
)
COMPONENT_UP = Gauge("memlane_component_up", "1 while the supervisor's component runs", ["component"])

# -- offload to the local model: direct writes, RAG pre-ranking, tool-result digests (issue 16) -------
MEMORIES_PUBLISHED = Counter(
    "memlane_memories_published_total", "Memories written directly (API or import) to the memories topic", ["source"]
)
CONTEXT_CALLS = Counter(
    "memlane_context_requests_total", "RAG context requests, by whether the local model re-ranked", ["reranked"]
)
SUMMARIES = Counter("memlane_summaries_total", "Summaries written", ["level", "model"])
SUMMARY_FAILURES = Counter(
    "memlane_summary_failures_total", "Summary calls that gave no summary", ["level", "model", "error_class"]
)
SUMMARY_TOKENS = Counter("memlane_summary_tokens_total", "Tokens of summary calls", ["level", "direction"])
SUMMARY_LATENCY = Histogram(
    "memlane_summary_latency_seconds",
    "Latency of one summary call",
    ["level"],
    buckets=(0.1, 0.5, 1, 2, 5, 10, 20, 30, 60, 120),
)
SUMMARY_BLOCKS_LATE = Counter(
    "memlane_summary_windows_late_total", "Windows that arrived after their level-2 block had closed"
)
REQUESTS_LEFT = Counter(
    "memlane_requests_left_total", "Requests a worker leaves to another worker (not its task)", ["component", "task"]
)
USAGE_RECORDS_LOST = Counter(
    "memlane_usage_records_lost_total", "Usage records of calls outside a worker the broker did not acknowledge"
)
LABEL_CALLS = Counter(
    "memlane_label_calls_total",
    "Labelling calls to the local model, by model, outcome and error class (none on success)",
    ["model", "outcome", "error_class"],
)
LABEL_CALL_SECONDS = Histogram(
    "memlane_label_call_duration_seconds",
    "Latency of one labelling call to the local model",
    ["model"],
    buckets=(0.1, 0.5, 1, 2.5, 5, 10, 20, 40, 60, 120, 240),
)
LABEL_TOKENS = Counter(
    "memlane_label_tokens_total", "Tokens of labelling calls, by model and direction (in, out)", ["model", "direction"]
)
LABEL_MEMORIES = Counter(
    "memlane_label_memories_total",
    "Memories the labeller handled: labelled, or unlabelled (the call failed or gave none: heuristic tags stay)",
    ["model", "result"],
)
LABEL_REPAIRS = Counter(
    "memlane_label_repairs_total",
    "Changes the labeller made to the model's labels, by model and kind",
    ["model", "kind"],
)
LABELS_APPLIED = Counter(
    "memlane_labels_applied_total",
    "Memories of label batches the memory sink applied, or skipped (replay, changed text, not stored)",
    ["result"],
)


def _endpoints() -> Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]:
    """The WSGI app of the metrics port: `/metrics` (Prometheus), `/healthz` (live), `/readyz` (ready)."""
    prometheus = make_wsgi_app()

    def app(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "/")
        checks = {"/healthz": HEALTH.liveness, "/readyz": HEALTH.readiness}
        if path in checks:
            verdict = checks[path]()
            body = json.dumps({"ok": verdict.ok, "detail": verdict.detail, "component": HEALTH.component}).encode()
            status = "200 OK" if verdict.ok else "503 Service Unavailable"
            start_response(status, [("Content-Type", "application/json"), ("Content-Length", str(len(body)))])
            return [body]
        return cast("Iterable[bytes]", prometheus(environ, start_response))

    return app


class _Server(ThreadingMixIn, WSGIServer):
    daemon_threads = True


class _QuietHandler(WSGIRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        """Scrapes and probes every few seconds are not worth a log line."""


def _start(port: int) -> int:
    server = make_server("127.0.0.1", port, _endpoints(), _Server, handler_class=_QuietHandler)
    threading.Thread(target=server.serve_forever, name="metrics", daemon=True).start()
    return int(server.server_address[1])


def serve_metrics(port: int | None) -> int | None:
    """Expose `/metrics`, `/healthz` and `/readyz` on `port` (no-op for None); returns the port serving them.

    A port another process holds (two workers given the same `MEMLANE_METRICS_PORT`) is not fatal: the
    endpoints move to a free port, and a warning names it.
    """
    if not port:
        return None
    try:
        return _start(port)
    except OSError as exc:
        chosen = _start(0)
        structlog.get_logger(__name__).warning(
            "metrics.port_taken", wanted=port, serving=chosen, reason=str(exc), url=f"http://127.0.0.1:{chosen}/metrics"
        )
        return chosen


__all__ = [
    "BATCHES_COMMITTED",
    "BATCH_FAILURES",
    "BATCH_SECONDS",
    "BLOBS_WRITTEN",
    "CIRCUIT_OPEN",
    "CLAUDE_BUDGET_LIMIT",
    "CLAUDE_BUDGET_REMAINING",
    "COMPONENT_RESTARTS",
    "COMPONENT_UP",
    "CONSUMER_LAG",
    "CONSUMER_LAG_SECONDS",
    "DLQ_PARKED",
    "EXTRACTIONS",
    "FALLBACK",
    "LABELS_APPLIED",
    "LABEL_CALLS",
    "LABEL_CALL_SECONDS",
    "LABEL_MEMORIES",
    "LABEL_REPAIRS",
    "LABEL_TOKENS",
    "LLM_CALLS",
    "LLM_COST",
    "LLM_LATENCY",
    "LLM_TOKENS",
    "MEMORIES_WRITTEN",
    "MESSAGES_CONSUMED",
    "OFFSET_GAPS",
    "PARTITION_STALLED",
    "PROCESSOR_ISOLATED",
    "QUARANTINED",
    "REQUESTS_LEFT",
    "REQUESTS_OUT",
    "SUMMARIES",
    "SUMMARY_BLOCKS_LATE",
    "SUMMARY_FAILURES",
    "SUMMARY_LATENCY",
    "SUMMARY_TOKENS",
    "TOKENS_FORWARDED",
    "TOKENS_SAVED",
    "TOKENS_SEEN",
    "TURNS_IN",
    "TURNS_SKIPPED",
    "TURN_TO_SEARCHABLE",
    "USAGE_RECORDS_LOST",
    "serve_metrics",
]
