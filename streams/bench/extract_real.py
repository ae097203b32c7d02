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
windows that are the source of a memory. Results: `bench-results/extract-real.json`; each request's record
is appended to `extract-real.progress.jsonl` as it ends, and a run interrupted on a slow machine resumes
from it (same model, server and settings) instead of starting over.
"""

from __future__ import annotations

import json
import time
from collections import Counter
from pathlib import Path
from typing import Any

from processors.dedupe import HashingEmbedder
from processors.extraction.ollama_extractor import OllamaExtractor
from processors.pipeline import TurnProcessor
from schemas.errors import ExtractionError, MemlaneError
from schemas.events import ExtractionRequest, UsageRecord
from streams.bench.contract import BenchOptions, BenchReport
from streams.bench.locomo_eval import LocomoConversation, load_locomo, run_processor

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


def _measure(extractor: OllamaExtractor, request: ExtractionRequest) -> dict[str, Any]:
    """One extraction's record: its outcome, repairs, seconds, the server's token counts, its memories' sources."""
    began = time.perf_counter()
    usage: list[UsageRecord] = []
    record: dict[str, Any] = {"request_id": request.request_id, "turns": len(request.turns), "memories": 0}
    try:
        outcome = extractor.extract(request)
    except ExtractionError as failure:
        record |= {"outcome": str(failure.error_class), "repairs": list(failure.repairs)}
        usage = [u for u in failure.usage if isinstance(u, UsageRecord)]
    else:
        memories = outcome.memories
        record |= {"outcome": "extracted", "repairs": list(outcome.repairs), "memories": len(memories)}
        record["cited"] = sum(1 for memory in memories if memory.source_turn_indexes)
        record["sources"] = sorted({i for memory in memories for i in memory.source_turn_indexes})
        usage = list(outcome.usage)
    record["seconds"] = time.perf_counter() - began
    record["call_s"] = sum(u.latency_ms for u in usage) / 1000.0
    record["tokens_in"] = sum(u.tokens_in for u in usage)
    record["tokens_out"] = sum(u.tokens_out for u in usage)
    return record


def _records(path: Path, key: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Records of an earlier, interrupted run with the same model, server and settings (resumed, not redone)."""
    if not path.is_file():
        return {}
    lines = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    if not lines or lines[0] != key:
        return {}
    return {line["request_id"]: line for line in lines[1:]}


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
    shipped = {
        "num_ctx": extraction.num_ctx_of(model),
        "max_output_tokens": extraction.max_output_tokens,
        "min_confidence": extraction.min_confidence,
        "ollama_parallelism": extraction.ollama_parallelism,
        "prompt_version": extraction.prompt_version,
    }
    key = {"model": model, "ollama_url": url, "windows": len(chosen), "settings": shipped}
    options.results_dir.mkdir(parents=True, exist_ok=True)
    progress = options.results_dir / "extract-real.progress.jsonl"
    done = _records(progress, key)
    extractor = OllamaExtractor.connect(url, extraction)
    status = extractor.health().check()
    if not status.ok:
        extractor.close()
        raise MemlaneError(f"Ollama at {url} cannot serve {model}: {status.error or f'missing {status.missing}'}")
    if not done:
        progress.write_text(json.dumps(key) + "\n")
    try:
        with progress.open("a") as out:
            for request in chosen:
                if request.request_id not in done:
                    done[request.request_id] = _measure(extractor, request)
                    out.write(json.dumps(done[request.request_id]) + "\n")
                    out.flush()
    finally:
        extractor.close()
    return summarise([done[r.request_id] for r in chosen], chosen, conversations, key)


def summarise(
    records: list[dict[str, Any]],
    chosen: list[ExtractionRequest],
    conversations: list[LocomoConversation],
    key: dict[str, Any],
) -> BenchReport:
    """The report of `records` (one per request of `chosen`, in order)."""
    total = len(records)
    outcomes = Counter(str(r["outcome"]) for r in records)
    repairs = Counter(repair for r in records for repair in r["repairs"])
    valid = outcomes["extracted"] + sum(outcomes[c] for c in SCHEMA_JUDGED)
    dlq = Counter({k: v for k, v in outcomes.items() if k != "extracted"})
    call_s = sum(r["call_s"] for r in records)
    tokens_out = sum(r["tokens_out"] for r in records)
    memories = sum(r["memories"] for r in records)
    evidence = {(c.sample_id, i) for c in conversations for qa in c.qa for i in qa.evidence}
    in_windows = {(q.conversation_id, t.turn_index) for q in chosen for t in q.turns} & evidence
    sourced = {(q.conversation_id, i) for q, r in zip(chosen, records, strict=True) for i in r.get("sources", ())}

    def per(value: float) -> float:
        return 100.0 * value / total if total else 0.0

    summary: dict[str, Any] = {
        "model": key["model"],
        "ollama_url": key["ollama_url"],
        "requests": total,
        "schema_valid_per_100": per(valid),
        "repairs_per_100": per(sum(repairs.values())),
        "repairs_by_kind_per_100": _per_100(repairs, total),
        "dlq_per_100": _per_100(dlq, total),
        "extracted_per_100": per(outcomes["extracted"]),
        "seconds_per_request": sum(r["seconds"] for r in records) / total if total else 0.0,
        "output_tokens_per_s": tokens_out / call_s if call_s else 0.0,
        "prompt_tokens_per_request": sum(r["tokens_in"] for r in records) / total if total else 0.0,
        "output_tokens_per_request": tokens_out / total if total else 0.0,
        "turns_per_request": sum(r["turns"] for r in records) / total if total else 0.0,
        "memories_per_request": memories / total if total else 0.0,
        "memories_citing_sources": sum(r.get("cited", 0) for r in records) / memories if memories else 0.0,
        "evidence_turns_in_windows": len(in_windows),
        "evidence_turns_sourced": len(in_windows & sourced) / len(in_windows) if in_windows else 0.0,
        "settings": key["settings"],
        "goal_schema_valid_per_100": GOAL_SCHEMA_VALID_PER_100,
        "meets_goal": total > 0 and per(valid) >= GOAL_SCHEMA_VALID_PER_100,
    }
    rows = [{"outcome": k, "requests": v, "per_100": per(v)} for k, v in outcomes.items()]
    rows += [{"outcome": f"repair:{k}", "requests": v, "per_100": per(v)} for k, v in repairs.items()]
    return BenchReport(
        "extract-real",
        columns=["outcome", "requests", "per_100"],
        rows=rows,
        summary=summary,
        title=f"extraction on a real Ollama: {key['model']}, {total} LoCoMo dev windows",
        notes=[
            "schema-valid = extracted + low_confidence (judged after the schema); the rest is what the DLQ gets",
            "an interrupted run resumes from extract-real.progress.jsonl (same model, server and settings)",
            "the content of a small model's memories is not measured here: see docs/extraction.md on model sizes",
        ],
    )


__all__ = ["GOAL_SCHEMA_VALID_PER_100", "run_real", "spread", "summarise"]
