"""`memlane bench cost --data LOCOMO.json`: what the pipeline pays a cloud LLM, against Claude extracting everything.

The conversations go through the whole pipeline on the real broker (processors, extraction over our
Ollama-protocol server, the fallback draining the DLQ to our Claude-protocol server, the sinks). Both servers
answer with the reading model (`streams.bench.reading_model`), whose local side returns cut-off JSON for a
stable, hash-chosen share of windows: those requests fail locally, land in the DLQ and are drained to Claude.
The share is `MEMLANE_BENCH_LOCAL_FAILURE_RATE` (default 0.10). A full run sweeps `SWEEP` plus the configured
rate, each rate in a run of its own (topics, groups, workspace); `--quick` runs the configured rate over the
first conversation only. Everything is counted from each run's usage topic:

    paid tokens       input + output tokens of Claude calls, and their dollars (the configured price table)
    local tokens      input + output tokens of Ollama calls (failed calls included: they ran)
    fallback rate     requests Claude turned into memories / extraction requests

The baseline (`streams.bench.cost_baseline`) is measured, not estimated: Claude called every 3 turns with the
conversation so far as context, through the same client, fake server, reading model and price table, so the
tokens of both arms come from one tokenizer. `paid_token_reduction` = 1 - paid / baseline tokens. For scale, the
same windows are also sent without the context (`no_context_*`): what the context alone costs the baseline. Each run
also reports its DLQ taxonomy (`memlane dlq report`) and the verifier's accounting verdict.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

from pydantic import SecretStr
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from processors.extraction.usage import SUCCESS
from schemas.errors import ConfigError
from schemas.events import ConversationTurn, UsageRecord
from streams.bench.contract import BenchOptions, BenchReport
from streams.bench.cost_baseline import EVERY, BaselineRun, run_baseline, window_count
from streams.bench.reading_model import ReadingModel
from streams.dlq_report import dlq_report
from streams.ingest.turn_files import InputFormat, load_turns
from streams.kafka.consumer import read_topic
from streams.pipeline_run import clean_up, run_stages, start_run
from streams.settings import Settings
from streams.testing.fake_anthropic import FakeAnthropicServer
from streams.testing.fake_ollama import FakeOllamaServer
from streams.wiring.accounting import verify_deployment
from streams.wiring.broker import live_broker
from streams.wiring.stores import blob_store, memory_store

TENANT = "cost"
RATE_ENV = "MEMLANE_BENCH_LOCAL_FAILURE_RATE"
DEFAULT_RATE = 0.10
SWEEP = (0.0, 0.10, 0.30)
API_KEY = "sk-memlane-bench-cost"
PAID, LOCAL = "anthropic", "ollama"
BASELINE = f"baseline: Claude every {EVERY} turns"


def configured_rate() -> float:
    """The local failure rate `MEMLANE_BENCH_LOCAL_FAILURE_RATE` asks for (0 to 1)."""
    raw = os.environ.get(RATE_ENV, "").strip()
    try:
        rate = float(raw) if raw else DEFAULT_RATE
    except ValueError:
        raise ConfigError(f"{RATE_ENV} must be a number from 0 to 1") from None
    if not 0.0 <= rate <= 1.0:
        raise ConfigError(f"{RATE_ENV} must be from 0 to 1")
    return rate


@dataclass
class Tokens:
    """Calls, tokens and dollars of one provider."""

    calls: int = 0
    tokens_in: int = 0
    tokens_out: int = 0
    cost_usd: float = 0.0

    def add(self, record: UsageRecord) -> None:
        self.calls += 1
        self.tokens_in += record.tokens_in
        self.tokens_out += record.tokens_out
        self.cost_usd += record.cost_usd

    @property
    def total(self) -> int:
        return self.tokens_in + self.tokens_out


def by_provider(usage: Sequence[UsageRecord]) -> dict[str, Tokens]:
    totals: dict[str, Tokens] = {PAID: Tokens(), LOCAL: Tokens()}
    for record in usage:
        totals.setdefault(record.provider, Tokens()).add(record)
    return totals


def _per_100(value: float, turns: int) -> float:
    return 100.0 * value / turns if turns else 0.0


def _usage(settings: Settings) -> list[UsageRecord]:
    codec, topic = settings.codec(), settings.topics.usage
    return [codec.decode(m.value() or b"", UsageRecord, topic) for m in read_topic(settings.kafka, topic)]


def pipeline_run(
    live: Settings, rate: float, turns: Sequence[ConversationTurn], ollama: FakeOllamaServer
) -> dict[str, Any]:
    """One run of the whole pipeline with `rate` of local calls failing: its row of the table."""
    ollama.script.responder = ReadingModel(failing_share=rate).ollama_responder
    settings, run_report, admin = start_run(live)
    try:
        run_stages(settings, turns, run_report)
        usage = _usage(settings)
        taxonomy = dlq_report(settings.stream_context(), settings.extraction.fallback_group_id)
        with blob_store(settings) as blobs, memory_store(settings) as store:
            accounting = verify_deployment(settings, store=store, blobs=blobs)
    finally:
        clean_up(settings, admin)
    tokens = by_provider(usage)
    paid, local, n = tokens[PAID], tokens[LOCAL], len(turns)
    drained = len({u.request_id for u in usage if u.provider == PAID and u.outcome == SUCCESS})
    return {
        "arm": f"pipeline, {rate:.0%} local failures",
        "local_failure_rate": rate,
        "requests": taxonomy.requests,
        "fallback_rate": drained / taxonomy.requests if taxonomy.requests else 0.0,
        "drained_to_claude": drained,
        "parked": taxonomy.parked,
        "paid_calls": paid.calls,
        "paid_in_per_100": _per_100(paid.tokens_in, n),
        "paid_out_per_100": _per_100(paid.tokens_out, n),
        "paid_tokens_per_100": _per_100(paid.total, n),
        "paid_usd_per_100": _per_100(paid.cost_usd, n),
        "local_tokens_per_100": _per_100(local.total, n),
        "local_calls": local.calls,
        "accounting": accounting.verdict,
        "dlq": taxonomy.as_dict(),
    }


def baseline_row(run: BaselineRun, n: int, arm: str) -> dict[str, Any]:
    paid = by_provider(run.usage)[PAID]
    return {
        "arm": arm,
        "windows": run.calls,
        "paid_calls": paid.calls,
        "paid_in_per_100": _per_100(paid.tokens_in, n),
        "paid_out_per_100": _per_100(paid.tokens_out, n),
        "paid_tokens_per_100": _per_100(paid.total, n),
        "paid_usd_per_100": _per_100(paid.cost_usd, n),
        "local_tokens_per_100": 0.0,
        "capped_calls": run.capped,
        "failed_calls": run.failed,
        "max_input_tokens": max((u.tokens_in for u in run.usage), default=0),
    }


def _progress(console: Console) -> Progress:
    return Progress(
        TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(), console=console
    )


def run(options: BenchOptions) -> BenchReport:
    """The pipeline at each local failure rate, and the every-3-turns Claude baseline, on the same turns."""
    path = options.data_path("locomo/locomo_dev5.json")
    rate = configured_rate()
    rates = [rate] if options.quick else sorted({*SWEEP, rate})
    turns, _errors = load_turns(path, InputFormat.LOCOMO, tenant_id=TENANT)
    if not turns:
        raise ConfigError(f"no LoCoMo turns in {path}")
    if options.quick:
        turns = [turn for turn in turns if turn.conversation_id == turns[0].conversation_id]
    console = Console(stderr=True)
    extraction = options.settings.extraction
    models = [extraction.fast_model, extraction.complex_model]
    reader = ReadingModel()
    with (
        FakeOllamaServer(models) as ollama,
        FakeAnthropicServer(api_key=API_KEY, tool_responder=reader.claude_tool_responder) as claude,
    ):
        base = options.settings.model_copy(
            update={
                "tenant_id": TENANT,
                "extractor": "ollama",
                "ollama_url": ollama.url,
                "anthropic_api_key": SecretStr(API_KEY),
                "anthropic_base_url": claude.url,
            }
        )
        with live_broker(base) as live, _progress(console) as progress:
            runs = progress.add_task(f"pipeline over {len(turns)} turns", total=len(rates))
            rows = []
            for each in rates:
                progress.update(runs, description=f"pipeline over {len(turns)} turns, {each:.0%} local failures")
                rows.append(pipeline_run(live, each, turns, ollama))
                progress.advance(runs)
            baselines = []
            for with_context, arm in ((True, BASELINE), (False, f"{BASELINE}, no context")):
                calls = progress.add_task(f"{arm}: calls", total=window_count(turns))
                done = run_baseline(
                    turns,
                    extraction,
                    api_key=API_KEY,
                    base_url=claude.url,
                    with_context=with_context,
                    advance=partial(progress.advance, calls),
                )
                baselines.append(baseline_row(done, len(turns), arm))
    return _report(rows, baselines, rate, path, len(turns))


def _report(
    rows: list[dict[str, Any]], baselines: list[dict[str, Any]], rate: float, path: Path, n: int
) -> BenchReport:
    baseline, windows_only = baselines
    for row in rows:
        row["paid_token_reduction"] = 1.0 - row["paid_tokens_per_100"] / baseline["paid_tokens_per_100"]
        row["paid_usd_reduction"] = 1.0 - row["paid_usd_per_100"] / baseline["paid_usd_per_100"]
    chosen = next(row for row in rows if row["local_failure_rate"] == rate)
    swept = [row["local_failure_rate"] for row in rows]
    summary = {
        "paid_tokens_per_100_turns": chosen["paid_tokens_per_100"],
        "paid_input_tokens_per_100_turns": chosen["paid_in_per_100"],
        "paid_output_tokens_per_100_turns": chosen["paid_out_per_100"],
        "paid_usd_per_100_turns": chosen["paid_usd_per_100"],
        "local_tokens_per_100_turns": chosen["local_tokens_per_100"],
        "baseline_paid_tokens_per_100_turns": baseline["paid_tokens_per_100"],
        "baseline_paid_input_tokens_per_100_turns": baseline["paid_in_per_100"],
        "baseline_paid_output_tokens_per_100_turns": baseline["paid_out_per_100"],
        "baseline_paid_usd_per_100_turns": baseline["paid_usd_per_100"],
        "paid_token_reduction": chosen["paid_token_reduction"],
        "paid_usd_reduction": chosen["paid_usd_reduction"],
        "fallback_rate": chosen["fallback_rate"],
        "local_failure_rate": rate,
        "accounting": chosen["accounting"],
        "all_runs_accounted": all(row["accounting"] == "ALL-TURNS-ACCOUNTED" for row in rows),
        "parked": chosen["parked"],
        "requests": chosen["requests"],
        "turns": n,
        "no_context_paid_tokens_per_100_turns": windows_only["paid_tokens_per_100"],
        "paid_token_reduction_vs_no_context": 1.0 - chosen["paid_tokens_per_100"] / windows_only["paid_tokens_per_100"],
        "baseline_calls": baseline["windows"],
        "baseline_capped_calls": baseline["capped_calls"],
        "baseline_failed_calls": baseline["failed_calls"],
        "baseline_max_input_tokens": baseline["max_input_tokens"],
        "dlq": chosen["dlq"],
        "dlq_by_rate": {f"{row['local_failure_rate']:g}": row["dlq"] for row in rows},
        "data": str(path),
    }
    notes = [
        f"local failure rate {rate:.0%} ({RATE_ENV}); rows: " + ", ".join(f"{r:.0%}" for r in swept),
        "tokens: whitespace words as our fake servers count them, for both arms; dollars: the configured price table",
        f"baseline: Claude every {EVERY} turns, the conversation so far as context blob; "
        f"{baseline['capped_calls']} of {baseline['windows']} calls capped at Claude's 200k context "
        f"(largest prompt {baseline['max_input_tokens']} tokens); 'no context' (the windows alone) is for scale",
        "fallback rate = requests Claude turned into memories / extraction requests; DLQ taxonomy in the JSON (dlq)",
    ]
    columns = [
        "arm",
        "requests",
        "drained_to_claude",
        "fallback_rate",
        "paid_in_per_100",
        "paid_out_per_100",
        "paid_usd_per_100",
        "local_tokens_per_100",
        "paid_token_reduction",
        "accounting",
    ]
    table_rows = [{k: v for k, v in row.items() if k != "dlq"} for row in [*rows, *baselines]]
    return BenchReport("cost", columns=columns, rows=table_rows, summary=summary, notes=notes)


__all__ = ["RATE_ENV", "SWEEP", "Tokens", "by_provider", "configured_rate", "pipeline_run", "run"]
