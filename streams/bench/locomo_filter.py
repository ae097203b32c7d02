"""`memlane bench locomo-filter --data PATH`: the processors app on the real broker, scored on LoCoMo evidence.

Every turn of a LoCoMo-format file (event times from the session dates, `locomo_eval.load_locomo`) is
published through `TurnPublisher`; a processors worker (its own OS process, `--idle-exit`, with a short
wall-clock drain flush so the last window of every conversation goes out once the stream is drained) turns
them into requests and skip records; those are read back from Kafka and scored with `locomo_eval`'s
`compute_metrics`: fraction of turn tokens forwarded, requests per 100 turns, recall of QA-evidence and
observation-evidence turns (a turn counts when some request contains it), per QA category. The same table
holds the in-process run of the same `TurnProcessor` (to show the wiring changes nothing) and the two
baselines (every turn; fixed windows of 3). Every turn must be in exactly one request or skip record.

The trade-off plot sweeps `fact_min_information`, the main recall/cost threshold, *in process* (the pure
processor, `locomo_eval.sweep`): one Kafka run per point would only repeat the same computation slower.
The bench's turns topic stamps messages with their append time: LoCoMo's dates are years old, and with
event-time timestamps the 90-day retention would delete the turns before the worker reads them.
"""

from __future__ import annotations

import dataclasses
import tempfile
import time
import uuid
from collections import Counter
from pathlib import Path
from typing import Any

from confluent_kafka.admin import AdminClient

from processors.dedupe import HashingEmbedder
from processors.pipeline import TurnProcessor
from schemas.errors import MemlaneError
from schemas.events import ExtractionRequest, SkipRecord
from streams.bench.contract import BenchOptions, BenchReport
from streams.bench.locomo_eval import CATEGORIES, baseline_windows, compute_metrics, load_locomo, run_processor, sweep
from streams.bench.locomo_eval import write_plot as write_tradeoff_plot
from streams.ingest.publisher import TurnPublisher
from streams.kafka.consumer import read_topic
from streams.kafka.provision import provision
from streams.kafka.topic_catalogue import TopicNames, TopicSpec
from streams.processor_app.app_settings import ProcessorAppSettings
from streams.processor_app.config import ticks_topic_name
from streams.processor_app.runtime import TABLE_NAME
from streams.settings import Settings
from streams.wiring.broker import live_broker
from streams.wiring.processes import spawn_processors

SWEEP_VALUES = (0.0, 1.0, 2.0, 3.0, 4.0)
WORKER_TIMEOUT_S = 600.0


def _bench_topics(settings: Settings) -> Settings:
    suffix = uuid.uuid4().hex[:8]
    return settings.model_copy(update={"topics": TopicNames().prefixed(f"bench.locomo.{suffix}.")})


def _specs(settings: Settings) -> list[TopicSpec]:
    append_time = {"message.timestamp.type": "LogAppendTime"}
    return [
        dataclasses.replace(spec, extra=append_time) if spec.name == settings.topics.turns else spec
        for spec in settings.topic_catalogue()
    ]


def _read_back(settings: Settings) -> tuple[list[ExtractionRequest], list[SkipRecord], int]:
    codec, kafka, topics = settings.codec(), settings.kafka, settings.topics
    requests = [
        codec.decode(m.value() or b"", ExtractionRequest, topics.requests) for m in read_topic(kafka, topics.requests)
    ]
    skips = [codec.decode(m.value() or b"", SkipRecord, topics.skipped) for m in read_topic(kafka, topics.skipped)]
    return requests, skips, sum(1 for _ in read_topic(kafka, topics.quarantine))


def _accounting(
    turns: set[tuple[str, int]], requests: list[ExtractionRequest], skips: list[SkipRecord]
) -> dict[str, int]:
    """Distinct verdicts per turn: requests (deduplicated by id) and skip records (by id)."""
    verdicts: Counter[tuple[str, int]] = Counter()
    for request in {r.request_id: r for r in requests}.values():
        verdicts.update((request.conversation_id, t.turn_index) for t in request.turns)
    verdicts.update((s.conversation_id, s.turn_index) for s in {s.skip_id: s for s in skips}.values())
    return {
        "turns": len(turns),
        "in_no_output": sum(1 for t in turns if verdicts[t] == 0),
        "in_two_or_more": sum(1 for t in turns if verdicts[t] > 1),
        "unknown_turns": sum(1 for t in verdicts if t not in turns),
    }


def _windows(requests: list[ExtractionRequest], skips: list[SkipRecord]) -> set[tuple[str, ...]]:
    return {("request", r.conversation_id, str(r.first_turn_index), str(r.last_turn_index)) for r in requests} | {
        ("skip", s.conversation_id, str(s.turn_index), s.reason) for s in skips
    }


def _run_kafka(
    live: Settings, conversations: list[Any], work: Path
) -> tuple[list[ExtractionRequest], list[SkipRecord], int, float]:
    bench = _bench_topics(live)
    admin = AdminClient(bench.kafka_config())
    provision(admin, _specs(bench))
    app = ProcessorAppSettings(
        app_id=f"bench-locomo-{uuid.uuid4().hex[:8]}",
        data_dir=work / "rocksdb",
        drain_flush_s=2.0,
        tick_interval_s=0.5,
        commit_interval_s=0.5,
        standby_replicas=0,
    )
    try:
        with TurnPublisher(bench.stream_context()) as publisher:
            for conversation in conversations:
                for turn in conversation.turns:
                    publisher.publish(turn)
        if publisher.summary.delivered != sum(len(c.turns) for c in conversations):
            raise MemlaneError(
                f"published {publisher.summary.delivered} turns, some failed: {publisher.summary.failures[:3]}"
            )
        log_path = work / "worker.log"
        began = time.monotonic()
        worker = spawn_processors(bench, app, log_path=log_path, idle_exit_s=5.0)
        code = worker.wait(WORKER_TIMEOUT_S)
        elapsed = time.monotonic() - began
        if code != 0:
            raise MemlaneError(f"processors worker exited with {code}:\n{log_path.read_text()[-3000:]}")
        requests, skips, quarantined = _read_back(bench)
    finally:
        internal = [f"{app.app_id}-{TABLE_NAME}-changelog", ticks_topic_name(app)]
        for future in admin.delete_topics([s.name for s in _specs(bench)] + internal).values():
            try:
                future.result(30)
            except Exception:  # best effort: the figures stand without the clean-up
                pass
    return requests, skips, quarantined, elapsed


def _row(system: str, metrics: dict[str, Any]) -> dict[str, Any]:
    row = {
        "system": system,
        "token_fraction": metrics["token_fraction"],
        "requests_per_100_turns": metrics["requests_per_100_turns"],
        "qa_evidence_recall": metrics["qa_evidence_recall"],
        "observation_recall": metrics["observation_evidence_recall"],
        "qa_question_coverage": metrics["qa_question_coverage"],
    }
    row.update({name: metrics["qa_recall_by_category"].get(name, float("nan")) for name in CATEGORIES.values()})
    return row


def run(options: BenchOptions) -> BenchReport:
    """Run the benchmark (starting a broker if none answers); draws the trade-off PNG."""
    settings, quick = options.settings, options.quick
    path = options.data_path("locomo/locomo_dev5.json")
    conversations = load_locomo(path)
    with live_broker(settings) as live, tempfile.TemporaryDirectory(prefix="memlane-locomo-") as tmp:
        requests, skips, quarantined, elapsed = _run_kafka(live, conversations, Path(tmp))
    kafka = compute_metrics(conversations, requests)
    in_process_requests, in_process_skips = run_processor(
        conversations, TurnProcessor(settings.processors, embedder=HashingEmbedder())
    )
    in_process = compute_metrics(conversations, in_process_requests)
    every = {(c.sample_id, t.turn_index) for c in conversations for t in c.turns}
    accounting = _accounting(every, requests, skips)
    accounted = accounting["in_no_output"] == 0 and accounting["in_two_or_more"] == 0 and not quarantined
    baselines = {
        "per_turn": compute_metrics(conversations, baseline_windows(conversations, 1)),
        "window_3": compute_metrics(conversations, baseline_windows(conversations, 3)),
    }
    rows = [
        _row("processors app, Kafka", kafka),
        _row("same, in process", in_process),
        _row("every turn", baselines["per_turn"]),
        _row("windows of 3", baselines["window_3"]),
    ]
    sweep_rows = sweep(
        path, "fact_min_information", SWEEP_VALUES[:3] if quick else SWEEP_VALUES, base=settings.processors
    )
    plot = write_tradeoff_plot(sweep_rows, options.results_dir / "locomo-filter.png", baselines)
    same = _windows(requests, skips) == _windows(in_process_requests, in_process_skips)
    summary: dict[str, Any] = {
        "data": str(path),
        "turns": kafka["turns"],
        "token_fraction": kafka["token_fraction"],
        "requests_per_100_turns": kafka["requests_per_100_turns"],
        "qa_evidence_recall": kafka["qa_evidence_recall"],
        "observation_recall": kafka["observation_evidence_recall"],
        "qa_recall_by_category": kafka["qa_recall_by_category"],
        "every_turn_accounted_once": accounted,
        "accounting": {**accounting, "quarantined": quarantined},
        "same_windows_as_in_process": same,
        "skips_by_reason": dict(Counter(f"{s.stage.value}:{s.reason}" for s in skips).most_common()),
        "requests_by_trigger": dict(Counter(r.trigger for r in requests).most_common()),
        "worker_wall_s": elapsed,
        "baselines": baselines,
        "in_process": in_process,
        "sweep": sweep_rows,
        "plot": str(plot),
    }
    verdict = "every turn is" if accounted else "NOT every turn is"
    return BenchReport(
        "locomo-filter",
        columns=list(rows[0]),
        rows=rows,
        summary=summary,
        charts=[plot],
        notes=[
            f"accounting: {verdict} in exactly one request or skip record ({accounting['turns']} turns, "
            f"{accounting['in_no_output']} in none, {accounting['in_two_or_more']} in two or more, "
            f"{quarantined} quarantined)",
            f"Kafka windows {'identical to' if same else 'DIFFER from'} the in-process run of the same processor",
            f"worker wall time {elapsed:.1f}s including start-up and the {5.0:.0f}s idle exit",
            "dev data: the processor defaults were tuned on it, so these figures are optimistic",
            f"trade-off plot {plot}: sweep of fact_min_information run in process (pure TurnProcessor)",
        ],
    )


__all__ = ["run"]
