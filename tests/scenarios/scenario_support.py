"""A whole pipeline for one scenario on the session broker: its own topics, groups, state; every stage on demand.

    pipeline = Pipeline.for_test(kafka_settings, tmp_path)
    pipeline.publish(turns)                   # through TurnPublisher (claim check, limits)
    pipeline.produce_raw(key, value)          # bytes straight onto the turns topic, as a foreign producer would
    pipeline.processors()                     # a processors worker process until drained (idle exit)
    pipeline.extract(); pipeline.sinks()      # the heuristic extractor, the memory and blob sinks, in process
    report = pipeline.verify()                # the accounting verifier

`record(name, **counts)` keeps each scenario's figures; the session prints them as one table at the end.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from confluent_kafka import Producer

from processors.extraction import Extractor, HeuristicExtractor
from schemas.events import ConversationTurn
from streams.ingest.publisher import PublishSummary
from streams.settings import Settings
from streams.verifier import VerifyReport, verify
from streams.wiring.processes import child_environment, worker_command
from streams.wiring.stores import blob_store, memory_store, publisher
from streams.wiring.workers import run_extract, run_sink_blobs, run_sink_qdrant, verifier_groups

RESULTS = Path(os.environ.get("MEMLANE_SCENARIO_RESULTS", "/tmp/memlane-scenarios.jsonl"))
FAULTS = Path(__file__).resolve().parents[1] / "integration" / "processors" / "faults"


def record(name: str, **counts: Any) -> None:
    """Keep a scenario's figures (printed as a table when the session ends)."""
    with RESULTS.open("a") as out:
        out.write(json.dumps({"scenario": name, **counts}, default=str) + "\n")
    print(f"\n[{name}] " + ", ".join(f"{key}={value}" for key, value in counts.items()))


@dataclass
class Pipeline:
    settings: Settings
    work: Path

    @classmethod
    def for_test(cls, base: Settings, work: Path) -> Pipeline:
        run = uuid.uuid4().hex[:8]
        app = base.processor_app.model_copy(
            update={
                "app_id": f"scenario-{run}-processors",
                "data_dir": work / "rocksdb",
                "drain_flush_s": 1.0,
                "tick_interval_s": 0.5,
                "commit_interval_s": 0.3,
                "session_timeout_s": 6.0,
                "standby_replicas": 0,
            }
        )
        extraction = base.extraction.model_copy(
            update={"worker_group_id": f"scenario-{run}-extract", "fallback_group_id": f"scenario-{run}-fallback"}
        )
        sinks = base.sinks.model_copy(
            update={
                "qdrant_sink_group_id": f"scenario-{run}-qdrant",
                "blob_sink_group_id": f"scenario-{run}-blobs",
                "qdrant_path": work / "qdrant",
            }
        )
        settings = base.model_copy(
            update={"processor_app": app, "extraction": extraction, "sinks": sinks, "state_dir": work / "state"}
        )
        return cls(settings, work)

    def publish(self, turns: list[ConversationTurn]) -> PublishSummary:
        with blob_store(self.settings) as blobs, publisher(self.settings, blobs) as turn_publisher:
            for turn in turns:
                turn_publisher.publish(turn)
            return turn_publisher.flush()

    def produce_raw(self, key: bytes, value: bytes, *, max_bytes: int = 4_000_000) -> str | None:
        """Send bytes as they are; returns the broker's error, if it refused them."""
        producer = Producer(self.settings.kafka_config(**{"message.max.bytes": max_bytes, "acks": "all"}))
        errors: list[str] = []
        producer.produce(
            self.settings.topics.turns,
            value=value,
            key=key,
            on_delivery=lambda e, _m: errors.append(str(e)) if e else None,
        )
        producer.flush(60)
        return errors[0] if errors else None

    def processors(
        self, *, idle_exit_s: float = 4.0, env: dict[str, str] | None = None, timeout_s: float = 300.0
    ) -> subprocess.Popen[bytes]:
        """Start a processors worker process (it exits once drained, or is killed by the caller)."""
        log_path = self.work / f"processors-{uuid.uuid4().hex[:6]}.log"
        child = {**child_environment(self.settings), **(env or {})}
        with log_path.open("wb") as out:
            process = subprocess.Popen(
                worker_command("processors", idle_exit_s=idle_exit_s),
                env=child,
                stdout=out,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
            )
        process.log_path = log_path  # type: ignore[attr-defined]
        return process

    def drain_processors(self, *, env: dict[str, str] | None = None, timeout_s: float = 300.0) -> str:
        process = self.processors(env=env)
        code = process.wait(timeout_s)
        log = process.log_path.read_text(errors="replace")  # type: ignore[attr-defined]
        assert code == 0, f"processors exited with {code}:\n{log[-3000:]}"
        return log

    def extract(self, extractor: Extractor | None = None) -> Any:
        return run_extract(self.settings, idle_exit_s=2.0, extractor=extractor or HeuristicExtractor())

    def sinks(self) -> tuple[Any, Any]:
        blobs = run_sink_blobs(self.settings, idle_exit_s=2.0)
        memories = run_sink_qdrant(self.settings, idle_exit_s=2.0)
        return blobs, memories

    def verify(self, *, tenant_id: str | None = None) -> VerifyReport:
        with blob_store(self.settings) as blobs, memory_store(self.settings) as store:
            return verify(
                self.settings.stream_context(),
                verifier_groups(self.settings),
                store=store,
                blobs=blobs,
                tenant_id=tenant_id,
            )

    def verify_topics(self) -> VerifyReport:
        """The verifier over the topics alone (while a sink holds the memory store open)."""
        return verify(self.settings.stream_context(), verifier_groups(self.settings))

    def python(self) -> str:
        return sys.executable


__all__ = ["FAULTS", "Pipeline", "record"]
