"""The LLM servers going down under load.

Ollama: the extraction worker's calls are refused, its circuit breaker opens after 3 failures (requests are
parked as `circuit_open` without a call), half-opens after its 4 s cooldown (one trial call, refused again while
the outage lasts), and closes on the first trial after Ollama is back; what was parked meanwhile is drained to
Claude by the fallback. Claude: the fallback's calls fail, the parked requests stay in the DLQ uncommitted (the
stall detector sees the DLQ stand still, nothing becomes a memory), and drain once Claude answers again.
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from live_support import LivePipeline, assert_accounted, counts
from scenario_support import record

from schemas.events import MemoryBatch
from streams.dlq import dlq_status
from streams.kafka.consumer import read_topic
from streams.kafka.headers import ErrorInfo
from streams.kafka.parking import message_headers
from streams.settings import Settings

pytestmark = pytest.mark.slow  # a fault scenario: make test-all, tests/scenarios/run


def parked_classes(live: LivePipeline) -> list[tuple[int, str]]:
    """(timestamp ms, error class) of every request the extraction worker parked, in time order."""
    found = []
    for message in read_topic(live.settings.kafka, live.settings.topics.dlq):
        info = ErrorInfo.from_headers(message_headers(message))
        if info is not None and info.stage == "extract":
            found.append((message.timestamp()[1], info.error_class))
    return sorted(found)


def batches_by(live: LivePipeline, extractor: str, *, after_ms: int = 0) -> int:
    codec, topic = live.settings.codec(), live.settings.topics.memories
    return sum(
        1
        for message in read_topic(live.settings.kafka, topic)
        if message.timestamp()[1] >= after_ms
        and codec.decode(message.value() or b"", MemoryBatch, topic).extractor == extractor
    )


def trial_after_open(classes: list[tuple[int, str]]) -> bool:
    """A refused call after the first `circuit_open`: the half-open trial, failed while Ollama is down."""
    opened = next((stamp for stamp, kind in classes if kind == "circuit_open"), None)
    return opened is not None and any(kind == "connection_refused" and s > opened for s, kind in classes)


def test_ollama_outage_opens_half_opens_and_closes_the_breaker(kafka_settings: Settings, tmp_path: Path) -> None:
    with LivePipeline(kafka_settings, tmp_path, failing_share=0.0) as live:
        live.fleet.start_all()
        load = live.load(rate_per_s=12)
        live.wait_busy("extract")
        live.ollama.pause()
        live.note("Ollama down")
        live.wait_for("the breaker to open", lambda: any(k == "circuit_open" for _s, k in parked_classes(live)))
        live.note("breaker open: requests parked as circuit_open")
        live.wait_for("a half-open trial", lambda: trial_after_open(parked_classes(live)))
        live.note("breaker half-open: its trial call was refused, open again")
        live.ollama.resume()
        back_ms = int(time.time() * 1000)
        live.wait_for("Ollama extracting again", lambda: batches_by(live, "ollama", after_ms=back_ms) > 0)
        live.note("Ollama back: the trial succeeded, the breaker closed")
        load.stop()
        report = live.finish()
        classes = [kind for _s, kind in parked_classes(live)]
        drained = batches_by(live, "claude")
    record(
        "Ollama outage: breaker opens, half-opens, closes",
        **counts(
            report,
            live.published,
            refused=classes.count("connection_refused"),
            circuit_open=classes.count("circuit_open"),
            drained_to_claude=drained,
            restarts=0,
        ),
    )
    assert_accounted(report, live.published)
    assert classes.count("circuit_open") > 0 and classes.count("connection_refused") >= 3
    assert drained == len(classes), "every parked request was drained to Claude"


def test_claude_outage_keeps_requests_parked_then_drains(kafka_settings: Settings, tmp_path: Path) -> None:
    with LivePipeline(kafka_settings, tmp_path, failing_share=0.3) as live:
        live.claude.pause()
        live.fleet.start_all()
        live.note("Claude down from the start")
        live.load(rate_per_s=12, turns=240).wait(120)
        watch = live.stall_watch(6.0)
        live.wait_for("the DLQ to stand still", lambda: bool(live.stalled("fallback", watch)))
        status = dlq_status(live.settings.kafka, live.settings.topics.dlq, live.settings.extraction.fallback_group_id)
        live.note(f"{status.parked} requests parked, none drained: {dict(status.by_class)}")
        assert status.parked > 0 and status.handled == 0
        assert batches_by(live, "claude") == 0
        live.claude.resume()
        took = live.wait_for("the DLQ to drain", lambda: live.lag("fallback") == 0)
        live.note(f"Claude back: the DLQ drained in {took:.1f}s")
        report = live.finish()
        drained = batches_by(live, "claude")
    record(
        "Claude outage: requests stay parked, then drain",
        **counts(report, live.published, parked_during_outage=status.parked, drained_to_claude=drained, restarts=0),
    )
    assert_accounted(report, live.published)
    assert drained == status.parked and report.requests_parked == 0
