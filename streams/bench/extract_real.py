"""`memlane bench extract --ollama-url URL --model NAME`: the Ollama extractor measured on a real server.

The windows are what the processors forward of the LoCoMo dev conversations (the pure `TurnProcessor` with
the configured stages, as `memlane bench locomo-filter` computes them), `--quick` 10 of them, otherwise 100
spread evenly over the conversations. Each goes through `OllamaExtractor.extract` with the settings as
shipped (only the model names replaced by `--model`), one at a time (`ollama_parallelism` 1, the server's
`OLLAMA_NUM_PARALLEL` default). Reported, per 100 requests:

    schema_valid_per_100   answers that passed the result schema (after the safe repairs): the successes and
                           the `low_confidence` verdicts, which are judged after the schema
    repairs_per_100        safe repairs made to the answers (`processors.extraction.repair`), by kind too
    dlq_per_100            requests that would go to the DLQ, by error class
    seconds_per_request    wall time of one extraction (prompt evaluation + generation + memlane)
    output_tokens_per_s    tokens the model wrote per second of call time (the server's `eval_count`)

and memories per request, the share of memories citing their source turns, and the evidence turns of the
windows that are the source of a memory. Results: `bench-results/extract-real.json`.
"""

from __future__ import annotations

import time
from collections import Counter
from typing import Any

from processors.dedupe import HashingEmbedder
from processors.extraction.ollama_extractor import OllamaExtractor
from processors.pipeline import TurnProcessor
from schemas.errors import ExtractionError, MemlaneError
from schemas.events import ExtractionRequest, UsageRecord
from streams.bench.contract import BenchOptions, BenchReport
from streams.bench.locomo_eval import load_locomo, run_processor

GOAL_SCHEMA_VALID_PER_100 = 90.0
SCHEMA_JUDGED = frozenset({"low_confidence"})
"""Failures decided after the answer passed the schema."""


def spread(requests: list[ExtractionRequest], count: int) -> list[ExtractionRequest]:
    """`count` requests taken at even steps through `requests` (all of them when there are fewer)."""
    if len(requests) <= count:
        return requests
    step = len(requests) / count
    return [requests[int(i * step)] for i in range(count)]


def _per_100(counts: Counter[str], total: int) -> dict[str, float]:
    return {key: 100.0 * value / total for key, value in counts.most_common()}


def run_real(options: BenchOptions) -> BenchReport:
    settings = options.settings
    url = options.ollama_url or settings.ollama_url
    extraction = settings.extraction
    model = extraction.fast_model
    source = options.data_path("locomo/locomo_dev5.json")
    if not source.is_file():
        raise MemlaneError(f"no LoCoMo dev data at {source}: pass --data or set MEMLANE_DATA_DIR")
    conversations = load_locomo(source)
    windows, _ = run_processor(conversations, TurnProcessor(settings.processors, embedder=HashingEmbedder()))
    chosen = spread(windows, 10 if options.quick else 100)
    evidence = {(c.sample_id, i) for c in conversations for qa in c.qa for i in qa.evidence}
    extractor = OllamaExtractor.connect(url, extraction)
    status = extractor.health().check()
    if not status.ok:
        extractor.close()
        raise MemlaneError(f"Ollama at {url} cannot serve {model}: {status.error or f'missing {status.missing}'}")
    outcomes: Counter[str] = Counter()
    repairs: Counter[str] = Counter()
    usage: list[UsageRecord] = []
    seconds: list[float] = []
    memories = cited = 0
    in_windows: set[tuple[str, int]] = set()
    sourced: set[tuple[str, int]] = set()
    try:
        for request in chosen:
            in_windows.update((request.conversation_id, t.turn_index) for t in request.turns)
            began = time.perf_counter()
            try:
                outcome = extractor.extract(request)
            except ExtractionError as failure:
                outcomes[str(failure.error_class)] += 1
                repairs.update(failure.repairs)
                usage.extend(record for record in failure.usage if isinstance(record, UsageRecord))
            else:
                outcomes["extracted"] += 1
                repairs.update(outcome.repairs)
                usage.extend(outcome.usage)
                memories += len(outcome.memories)
                cited += sum(1 for memory in outcome.memories if memory.source_turn_indexes)
                sourced.update((request.conversation_id, i) for m in outcome.memories for i in m.source_turn_indexes)
            seconds.append(time.perf_counter() - began)
    finally:
        extractor.close()
    total = len(chosen)
    valid = outcomes["extracted"] + sum(outcomes[c] for c in SCHEMA_JUDGED)
    dlq = Counter({key: value for key, value in outcomes.items() if key != "extracted"})
    call_s = sum(record.latency_ms for record in usage) / 1000.0
    tokens_out = sum(record.tokens_out for record in usage)
    window_evidence = evidence & in_windows
    summary: dict[str, Any] = {
        "model": model,
        "ollama_url": url,
        "requests": total,
        "schema_valid_per_100": 100.0 * valid / total if total else 0.0,
        "repairs_per_100": 100.0 * sum(repairs.values()) / total if total else 0.0,
        "repairs_by_kind_per_100": _per_100(repairs, total),
        "dlq_per_100": _per_100(dlq, total),
        "extracted_per_100": 100.0 * outcomes["extracted"] / total if total else 0.0,
        "seconds_per_request": sum(seconds) / total if total else 0.0,
        "output_tokens_per_s": tokens_out / call_s if call_s else 0.0,
        "prompt_tokens_per_request": sum(r.tokens_in for r in usage) / total if total else 0.0,
        "output_tokens_per_request": tokens_out / total if total else 0.0,
        "turns_per_request": sum(len(r.turns) for r in chosen) / total if total else 0.0,
        "memories_per_request": memories / total if total else 0.0,
        "memories_citing_sources": cited / memories if memories else 0.0,
        "evidence_turns_in_windows": len(window_evidence),
        "evidence_turns_sourced": len(window_evidence & sourced) / len(window_evidence) if window_evidence else 0.0,
        "settings": {
            "num_ctx": extraction.num_ctx_of(model),
            "max_output_tokens": extraction.max_output_tokens,
            "min_confidence": extraction.min_confidence,
            "ollama_parallelism": extraction.ollama_parallelism,
            "prompt_version": extraction.prompt_version,
        },
        "goal_schema_valid_per_100": GOAL_SCHEMA_VALID_PER_100,
        "meets_goal": total > 0 and 100.0 * valid / total >= GOAL_SCHEMA_VALID_PER_100,
    }
    rows = [{"outcome": key, "requests": value, "per_100": 100.0 * value / total} for key, value in outcomes.items()]
    rows += [
        {"outcome": f"repair:{key}", "requests": value, "per_100": 100.0 * value / total}
        for key, value in repairs.items()
    ]
    return BenchReport(
        "extract-real",
        columns=["outcome", "requests", "per_100"],
        rows=rows,
        summary=summary,
        title=f"extraction on a real Ollama: {model}, {total} LoCoMo dev windows",
        notes=[
            "schema-valid = extracted + low_confidence (judged after the schema); the rest is what the DLQ gets",
            "the content of a small model's memories is not measured here: see the README on model sizes",
        ],
    )


__all__ = ["GOAL_SCHEMA_VALID_PER_100", "run_real", "spread"]
