"""`memlane bench soak`: a fixed turn rate through the whole pipeline for minutes; does anything grow or get lost?

Every worker (processors, extract, fallback, both sinks) runs as a real child process
(`streams.wiring.fleet`) on the run's own topics, groups and workspace; the LLMs are the project's fake
servers (no network): Ollama answering with the reading model after a fixed latency, failing a share of
windows that the fallback drains through the fake Claude. Turns (the demo conversation, copy after copy)
arrive at `MEMLANE_OPS__SOAK_RATE_PER_S` for `--minutes` (`MEMLANE_OPS__SOAK_MINUTES`; `--quick`: 30 s).
Every `MEMLANE_OPS__SOAK_SAMPLE_INTERVAL_S` each component's RSS and open file descriptors are sampled
(`streams.bench.proc_sample`) and the consumer lag of every worker measured. Then the load stops, the
pipeline drains, the workers stop and the accounting verifier reads the topics and stores.

Keys of `bench-results/soak.json`: `rss_growth_mb` (per component, and `max`: the last sample minus the
first taken once turns flow), `fd_growth` (likewise), `max_lag` (the most messages any worker was behind at
a sample), `turns_lost`, `turns_duplicated`, `memory_ids_twice`, `turns_published`, `rate_per_s` (asked) and
`turns_per_s` (achieved), `verdict`.
"""

from __future__ import annotations

import tempfile
import time
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import SecretStr

from schemas.errors import MemlaneError
from streams.bench.contract import BenchOptions, BenchReport
from streams.bench.load import RatePublisher, conversation_turns
from streams.bench.proc_sample import ProcessSample, process_sample
from streams.bench.reading_model import ReadingModel
from streams.kafka.consumer_lag import LagMonitor
from streams.pipeline_run import clean_up, start_run
from streams.settings import Settings
from streams.testing.fake_anthropic import FakeAnthropicServer
from streams.testing.fake_ollama import FakeOllamaServer
from streams.verifier import VerifyReport, verify
from streams.wiring.accounting import verify_deployment
from streams.wiring.broker import live_broker
from streams.wiring.fleet import PIPELINE, SERVE, Fleet
from streams.wiring.groups import verifier_groups, worker_inputs
from streams.wiring.stores import blob_store, memory_store

TENANT = "soak"
CLAUDE_KEY = "sk-memlane-soak"
QUICK_MINUTES = 0.5
DRAIN_TIMEOUT_S = 180.0
COLUMNS = (
    "component",
    "samples",
    "rss_first_mb",
    "rss_last_mb",
    "rss_peak_mb",
    "rss_growth_mb",
    "fds_first",
    "fds_last",
    "fds_peak",
)


@dataclass
class Samples:
    """Every sample of one component, in order."""

    taken: list[ProcessSample] = field(default_factory=list)

    def row(self, component: str) -> dict[str, Any]:
        first, last = self.taken[0], self.taken[-1]
        return {
            "component": component,
            "samples": len(self.taken),
            "rss_first_mb": first.rss_mb,
            "rss_last_mb": last.rss_mb,
            "rss_peak_mb": max(s.rss_mb for s in self.taken),
            "rss_growth_mb": last.rss_mb - first.rss_mb,
            "fds_first": first.open_fds,
            "fds_last": last.open_fds,
            "fds_peak": max(s.open_fds for s in self.taken),
        }


def soak_settings(settings: Settings, ollama: FakeOllamaServer, claude: FakeAnthropicServer) -> Settings:
    """The run's settings with the fake LLMs, and the processors flushing idle windows within seconds."""
    app = settings.processor_app.model_copy(
        update={"drain_flush_s": 1.0, "tick_interval_s": 0.5, "commit_interval_s": 0.5, "standby_replicas": 0}
    )
    return settings.model_copy(
        update={
            "tenant_id": TENANT,
            "extractor": "ollama",
            "ollama_url": ollama.url,
            "anthropic_api_key": SecretStr(CLAUDE_KEY),
            "anthropic_base_url": claude.url,
            "consumer_session_timeout_s": 10.0,
            "processor_app": app,
        }
    )


class Soak:
    """One soak run on `settings` (the run's own topics and workspace, the fake LLMs)."""

    def __init__(self, settings: Settings, minutes: float) -> None:
        self.settings = settings
        self.seconds = minutes * 60.0
        self.ops = settings.ops
        self.samples: dict[str, Samples] = defaultdict(Samples)
        self.max_lag = 0
        self.lag_samples = 0
        self.monitor = LagMonitor(settings.kafka, stall_after_s=3600.0)
        self.inputs = {group: [topic] for group, topic in worker_inputs(settings).values()}

    def run(self, fleet: Fleet) -> tuple[RatePublisher, float]:
        """Start the fleet, publish for the soak's minutes while sampling, stop the load; (load, seconds sent)."""
        fleet.start_all(PIPELINE)
        load = RatePublisher(
            self.settings, conversation_turns(tenant_id=TENANT, prefix="soak"), rate_per_s=self.ops.soak_rate_per_s
        )
        began = time.monotonic()
        load.start()
        interval = min(self.ops.soak_sample_interval_s, max(1.0, self.seconds / 10))
        next_sample = began + min(interval, 3.0)  # the first sample once turns flow: the baseline
        while time.monotonic() - began < self.seconds:
            self._check(fleet, load)
            if time.monotonic() >= next_sample:
                self.sample(fleet)
                next_sample += interval
            time.sleep(0.2)
        load.stop()
        return load, time.monotonic() - began

    def sample(self, fleet: Fleet) -> None:
        for member in fleet.members:
            if not member.alive:
                continue
            taken = process_sample(member.pid)
            if taken is not None:
                self.samples[f"{member.name}-{member.number}"].taken.append(taken)
        lags: dict[str, int] = defaultdict(int)
        for row in self.monitor.measure(self.inputs):
            lags[row.group] += row.lag
        self.max_lag = max(self.max_lag, *lags.values(), 0)
        self.lag_samples += 1

    @staticmethod
    def _check(fleet: Fleet, load: RatePublisher) -> None:
        crashed = fleet.unexpected()
        if crashed:
            raise MemlaneError(f"{crashed[0].name} exited during the soak:\n{crashed[0].log_tail()}")
        if load.error is not None:
            raise MemlaneError(f"the load publisher failed: {load.error}")

    def drain(self, fleet: Fleet, published: int) -> float:
        """Wait until every worker has committed its input and every turn is decided; seconds it took."""
        began = time.monotonic()
        while time.monotonic() - began < DRAIN_TIMEOUT_S:
            self._check_fleet(fleet)
            if not any(row.lag for row in self.monitor.measure(self.inputs)):
                report = verify(self.settings.stream_context(), verifier_groups(self.settings))
                if report.turns >= published and report.turns_pending == 0 and report.requests_pending == 0:
                    return time.monotonic() - began
            time.sleep(1.0)
        raise MemlaneError(f"the pipeline did not drain within {DRAIN_TIMEOUT_S:.0f}s")

    @staticmethod
    def _check_fleet(fleet: Fleet) -> None:
        crashed = fleet.unexpected()
        if crashed:
            raise MemlaneError(f"{crashed[0].name} exited during the soak:\n{crashed[0].log_tail()}")

    def verify(self) -> VerifyReport:
        with blob_store(self.settings) as blobs, memory_store(self.settings) as store:
            return verify_deployment(self.settings, store=store, blobs=blobs)


def _report(soak: Soak, report: VerifyReport, published: int, sent_s: float, drain_s: float) -> BenchReport:
    rows = [samples.row(name) for name, samples in sorted(soak.samples.items()) if samples.taken]
    rss = {row["component"]: round(row["rss_growth_mb"], 2) for row in rows}
    fds = {row["component"]: row["fds_last"] - row["fds_first"] for row in rows}
    lost = report.turns_lost + max(0, published - report.turns)
    summary = {
        "minutes": round(soak.seconds / 60.0, 2),
        "rate_per_s": soak.ops.soak_rate_per_s,
        "turns_published": published,
        "turns_per_s": round(published / sent_s, 2) if sent_s else 0.0,
        "ollama_latency_s": soak.ops.soak_ollama_latency_s,
        "samples": soak.lag_samples,
        "rss_growth_mb": {**rss, "max": max(rss.values(), default=0.0)},
        "fd_growth": {**fds, "max": max(fds.values(), default=0)},
        "max_lag": soak.max_lag,
        "drain_s": round(drain_s, 1),
        "turns_lost": lost,
        "turns_duplicated": report.turns_duplicated,
        "memory_ids_twice": report.memory_ids_twice,
        "requests": report.requests,
        "memories_stored": report.memories_stored,
        "verdict": report.verdict,
    }
    notes = [
        f"{published} turns at {soak.ops.soak_rate_per_s:g}/s for {soak.seconds / 60.0:.1f} min; drained in "
        f"{drain_s:.0f}s; verifier: {report.verdict}",
        f"RSS growth (last - first sample): max {max(rss.values(), default=0.0):.1f} MiB; max lag {soak.max_lag}",
    ]
    return BenchReport("soak", COLUMNS, rows, summary, title="soak: RSS and descriptors per component", notes=notes)


def run(options: BenchOptions) -> BenchReport:
    base = options.settings
    minutes = options.minutes or (QUICK_MINUTES if options.quick else base.ops.soak_minutes)
    reader = ReadingModel(failing_share=base.ops.soak_failing_share)
    models = [base.extraction.fast_model, base.extraction.complex_model]
    ollama = FakeOllamaServer(models, responder=reader.ollama_responder, latency=base.ops.soak_ollama_latency_s)
    claude = FakeAnthropicServer(api_key=CLAUDE_KEY, tool_responder=reader.claude_tool_responder)
    with (
        live_broker(base) as live,
        tempfile.TemporaryDirectory(prefix="memlane-soak-") as work,
        ollama,
        claude,
    ):
        settings, _run, admin = start_run(live.model_copy(update={"state_dir": Path(work)}))
        settings = soak_settings(settings, ollama, claude)
        soak = Soak(settings, minutes)
        try:
            with Fleet(settings, Path(work) / "logs") as fleet:
                load, sent_s = soak.run(fleet)
                published = load.summary.delivered
                drain_s = soak.drain(fleet, published)
                soak.sample(fleet)
                codes = fleet.stop()
                soak._check_fleet(fleet)
                failed = {name: code for name, code in codes.items() if code != 0 and not name.startswith(SERVE)}
                if failed:
                    raise MemlaneError(f"workers did not stop cleanly: {failed}")
            report = soak.verify()
        finally:
            clean_up(settings, admin)
    return _report(soak, report, published, sent_s, drain_s)


__all__ = ["Soak", "run", "soak_settings"]
