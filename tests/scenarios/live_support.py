"""The whole pipeline live for a fault scenario: every component a real child process, LLMs our protocol fakes.

    with LivePipeline(kafka_settings, tmp_path) as live:
        live.fleet.start_all()                        # processors, extract, fallback, sink-blobs, sink-qdrant
        with live.load(rate_per_s=15, turns=240):     # the demo conversation, copy after copy, at a fixed rate
            live.wait_busy("extract"); live.fleet.kill("extract"); live.fleet.start("extract")
        report = live.finish()                        # drained, workers stopped (SIGTERM), the verifier's report

The fake Ollama answers with the reading model (`streams.bench.reading_model`), failing `failing_share` of
windows with cut-off JSON, so some requests go through the DLQ to the fake Claude. Settings are those of
`scenario_support.Pipeline` (own topics, groups, state) with short timeouts: consumer sessions of 6 s, a
breaker that opens after 3 failures and half-opens after 4 s, the fallback retrying parked requests every 2 s.
"""

from __future__ import annotations

import signal
import time
from collections.abc import Callable
from pathlib import Path
from types import TracebackType
from typing import Any, Self

from pydantic import SecretStr
from scenario_support import Pipeline

from sinks.search.api_models import SearchRequest
from sinks.search.search_client import SearchClient
from streams.bench.load import RatePublisher, conversation_turns
from streams.bench.reading_model import ReadingModel
from streams.kafka.consumer_lag import LagMonitor, PartitionLag
from streams.logs import configure_logging
from streams.settings import Settings
from streams.testing.fake_anthropic import FakeAnthropicServer
from streams.testing.fake_ollama import FakeOllamaServer
from streams.verifier import VerifyReport
from streams.wiring.fleet import PIPELINE, SERVE, Fleet, Member
from streams.wiring.groups import worker_inputs

FAULTS = Path(__file__).resolve().parent / "faults"
"""On a child's PYTHONPATH: the scenarios' fault injection (`faults/sitecustomize.py`)."""
TENANT = "acme"
CLAUDE_KEY = "sk-scenario"
API_KEY = "k-scenario"
EXTRACTION = {
    "request_timeout_s": 10.0,
    "health_interval_s": 5.0,
    "worker_batch_size": 8,
    "breaker_failure_threshold": 3,
    "breaker_cooldown_s": 4.0,
    "fallback_park_cooldown_s": 2.0,
    "fallback_batch_size": 8,
    "claude_timeout_s": 10.0,
    "backoff_base_s": 0.2,
    "backoff_max_s": 1.0,
    "backoff_attempts": 2,
}


class LivePipeline:
    """Fake LLM servers, the scenario's settings and a `Fleet` of its processes; see the module docstring."""

    def __init__(
        self,
        base: Settings,
        work: Path,
        *,
        failing_share: float = 0.1,
        ollama_latency_s: float = 0.02,
        env: dict[str, str] | None = None,
        extraction: dict[str, Any] | None = None,
        sinks: dict[str, Any] | None = None,
    ) -> None:
        self.pipeline = Pipeline.for_test(base, work)
        self.work = work
        models = [self.pipeline.settings.extraction.fast_model, self.pipeline.settings.extraction.complex_model]
        reader = ReadingModel(failing_share=failing_share)
        self.ollama = FakeOllamaServer(models, responder=reader.ollama_responder, latency=ollama_latency_s)
        self.claude = FakeAnthropicServer(api_key=CLAUDE_KEY, tool_responder=reader.claude_tool_responder)
        self._env = env or {}
        self._extraction = {**EXTRACTION, **(extraction or {})}
        self._sinks = sinks or {}
        self.loads: list[RatePublisher] = []
        self.fleet: Fleet
        self.began = time.monotonic()

    @property
    def settings(self) -> Settings:
        return self.pipeline.settings

    def __enter__(self) -> Self:
        configure_logging("INFO")  # the fake servers log every request at DEBUG
        self.ollama.start()
        self.claude.start()
        s = self.pipeline.settings
        self.pipeline.settings = s.model_copy(
            update={
                "tenant_id": TENANT,
                "extractor": "ollama",
                "ollama_url": self.ollama.url,
                "anthropic_api_key": SecretStr(CLAUDE_KEY),
                "anthropic_base_url": self.claude.url,
                "consumer_session_timeout_s": 6.0,
                "api_keys": {API_KEY: TENANT},
                "extraction": s.extraction.model_copy(update=self._extraction),
                "sinks": s.sinks.model_copy(update=self._sinks),
            }
        )
        self.fleet = Fleet(self.pipeline.settings, self.work / "logs", env=self._env, grace_s=30.0)
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        try:
            for load in self.loads:
                load.__exit__(None, None, None)
            self.fleet.close()
        finally:
            self.ollama.stop()
            self.claude.stop()

    def note(self, event: str) -> None:
        """Print a line of the scenario's timeline (seconds since it began)."""
        print(f"  {time.monotonic() - self.began:6.1f}s  {event}", flush=True)

    # --- load -----------------------------------------------------------------------------------------
    def load(self, *, rate_per_s: float, turns: int | None = None, prefix: str = "load") -> RatePublisher:
        """Start publishing `turns` turns (None: until stopped) at `rate_per_s`; `stop()` or `wait()` on it."""
        source = conversation_turns(tenant_id=TENANT, prefix=prefix)
        load = RatePublisher(self.settings, source, rate_per_s=rate_per_s, limit=turns)
        self.loads.append(load)
        return load.start()

    @property
    def published(self) -> int:
        return sum(load.summary.delivered for load in self.loads)

    def search(self, member: Member, query: str) -> list[str]:
        """Ask a `serve` member; the texts of its hits (raises `SearchError` when it does not answer)."""
        with SearchClient(member.url, API_KEY, timeout=30.0) as client:
            response = client.search(SearchRequest(query=query, limit=5))
        return [hit.memory.text for hit in response.hits]

    # --- watching -------------------------------------------------------------------------------------
    def lags(self, name: str, monitor: LagMonitor | None = None) -> list[PartitionLag]:
        """Worker `name`'s partitions as `monitor` (by default one that never calls a stall) measures them."""
        group, topic = worker_inputs(self.settings)[name]
        return (monitor or self.stall_watch(3600.0)).measure({group: [topic]})

    def stall_watch(self, stall_after_s: float) -> LagMonitor:
        """A lag monitor (`memlane lag`'s) that calls a lagging partition stalled once its commit has stood
        still for `stall_after_s`; it remembers offsets across calls, so keep one per watch."""
        return LagMonitor(self.settings.kafka, stall_after_s=stall_after_s)

    def stalled(self, name: str, monitor: LagMonitor) -> list[PartitionLag]:
        """Worker `name`'s stalled partitions, as `monitor` sees them now."""
        return [p for p in self.lags(name, monitor) if p.stalled]

    def lag(self, name: str) -> int:
        return sum(p.lag for p in self.lags(name))

    def committed(self, name: str) -> int:
        return sum(max(0, p.committed or 0) for p in self.lags(name))

    def wait_for(self, what: str, condition: Callable[[], bool], *, timeout_s: float = 90.0) -> float:
        """Poll `condition` until it holds; seconds it took (fails the test naming `what` otherwise)."""
        began = time.monotonic()
        while not condition():
            crashed = self.fleet.unexpected()
            assert not crashed, f"{crashed[0].name} exited unexpectedly:\n{crashed[0].log_tail()}"
            assert time.monotonic() - began < timeout_s, f"timed out after {timeout_s:.0f}s waiting for {what}"
            time.sleep(0.5)
        return time.monotonic() - began

    def wait_busy(self, name: str, *, beyond: int | None = None, timeout_s: float = 90.0) -> int:
        """Until worker `name` has committed more than `beyond` messages (default: what it has committed
        now), i.e. it is working through the stream; what it has committed then."""
        mark = self.committed(name) if beyond is None else beyond
        self.wait_for(f"{name} mid-stream", lambda: self.committed(name) > mark, timeout_s=timeout_s)
        return self.committed(name)

    def drained(self, names: tuple[str, ...] = PIPELINE) -> bool:
        """Every worker in `names` has committed all of its input, and every turn is decided."""
        if any(self.lag(name) for name in names):
            return False
        report = self.pipeline.verify_topics()
        return report.turns == self.published and report.turns_pending == 0 and report.requests_pending == 0

    def finish(self, *, timeout_s: float = 120.0, names: tuple[str, ...] = PIPELINE) -> VerifyReport:
        """Wait until the load is sent and the pipeline drained, stop every worker, and verify the stores too."""
        for load in self.loads:
            load.wait(timeout_s)
        self.wait_for("the pipeline to drain", lambda: self.drained(names), timeout_s=timeout_s)
        time.sleep(1.0)  # anything still moving shows up as lag again
        self.wait_for("the pipeline to drain", lambda: self.drained(names), timeout_s=timeout_s)
        codes = self.fleet.stop()
        crashed = self.fleet.unexpected()
        assert not crashed, f"{crashed[0].name} exited unexpectedly:\n{crashed[0].log_tail()}"
        # uvicorn re-raises the SIGTERM it handled once it has shut down
        clean = {
            name: code in ((0, -signal.SIGTERM) if name.startswith(SERVE) else (0,)) for name, code in codes.items()
        }
        assert all(clean.values()), f"workers did not stop cleanly: {codes}"
        return self.pipeline.verify()


def counts(report: VerifyReport, published: int, **extra: Any) -> dict[str, Any]:
    """The figures every fault scenario records."""
    return {
        "published": published,
        "accounted": report.turns_skipped + report.turns_in_requests + report.turns_quarantined,
        "lost": report.turns_lost,
        "duplicated": report.turns_duplicated,
        "requests": report.requests,
        "memories_stored": report.memories_stored,
        "duplicate_ids": report.memory_ids_twice,
        **extra,
        "verdict": report.verdict,
    }


def assert_accounted(report: VerifyReport, published: int) -> None:
    """ALL-TURNS-ACCOUNTED, every published turn among them, nothing pending, no memory id twice."""
    assert report.verdict == "ALL-TURNS-ACCOUNTED", report.discrepancies[:10]
    assert report.turns == published, f"{report.turns} turns on the topic, {published} published"
    assert report.turns_pending == 0 and report.requests_pending == 0 and report.memories_pending == 0
    assert report.memory_ids_twice == 0


__all__ = ["CLAUDE_KEY", "FAULTS", "TENANT", "LivePipeline", "assert_accounted", "counts"]
