"""The whole pipeline in the Confluent wire format through the real registry, which stops mid-stream.

1. Registry up: the first half of the turns is published (ConversationTurn registered) and processed
   (ExtractionRequest and SkipRecord registered by the processors worker process).
2. Registry stopped: the second half is still published (the publisher knows its schema id); the extraction
   worker cannot resolve the requests' schema id, so its batches rewind (nothing extracted, nothing
   quarantined, nothing committed); a processors worker process, which knows no id yet, stops on the first batch
   without acknowledging it.
3. Registry back (same database, same ids): everything flows, and the verifier accounts for every turn.
"""

from __future__ import annotations

from pathlib import Path

from scenarios.scenario_support import Pipeline, record

from schemas.events import ConversationTurn
from streams.broker.registry import LocalRegistry
from streams.ingest.turn_files import load_turns
from streams.kafka.consumer import read_topic
from streams.settings import Settings

REPO = Path(__file__).resolve().parents[3]
DEMO = REPO / "streams" / "demo" / "demo_conversation.json"
SAMPLE = REPO / "docs" / "examples" / "turns.jsonl"


def _count(settings: Settings, topic: str) -> int:
    return sum(1 for _ in read_topic(settings.kafka, topic))


def test_the_pipeline_rides_out_a_registry_outage(
    local_registry: LocalRegistry, kafka_settings: Settings, tmp_path: Path
) -> None:
    settings = kafka_settings.model_copy(update={"schema_registry_url": local_registry.url, "tenant_id": "acme"})
    pipeline = Pipeline.for_test(settings, tmp_path)
    turns, errors = load_turns(SAMPLE, "jsonl", tenant_id="acme")
    assert not errors
    later: list[ConversationTurn] = [
        turn.model_copy(update={"conversation_id": "conv-later", "event_id": f"{turn.event_id}-later"})
        for turn in turns
    ]
    topics = settings.topics

    first = pipeline.publish(turns)
    pipeline.drain_processors()
    requests_before = _count(settings, topics.requests)
    assert _count(settings, topics.turns) == len(turns) and requests_before > 0
    wire = next(iter(read_topic(settings.kafka, topics.turns))).value() or b""
    assert wire[:1] == b"\x00", "the Confluent wire format: magic byte 0 and a registry id"

    local_registry.stop()
    try:
        second = pipeline.publish(later)
        assert second.delivered == len(later), "the publisher needs no registry for a schema id it knows"
        stalled = pipeline.extract()
        cold = pipeline.processors(idle_exit_s=3.0)
        cold_exit = cold.wait(120)
        assert stalled.extracted == 0 and stalled.quarantined == 0, "extraction batches rewound"
        assert cold_exit != 0, "a processors worker without the registry stops instead of guessing"
        assert _count(settings, topics.quarantine) == 0, "an outage quarantines nothing"
        assert _count(settings, topics.memories) == 0
        assert _count(settings, topics.requests) == requests_before, "no processors output during the outage"
    finally:
        restarted = local_registry.start()

    pipeline.drain_processors()
    extracted = pipeline.extract()
    pipeline.sinks()
    report = pipeline.verify()
    record(
        "schema registry (Apicurio) stopped mid-stream",
        published=first.delivered + second.delivered,
        published_during_outage=second.delivered,
        extracted_during_outage=stalled.extracted,
        processors_exit_during_outage=cold_exit,
        registry_restart_s=round(restarted.startup_s or 0.0, 1),
        extracted_after=extracted.extracted,
        quarantined=report.turns_quarantined + report.requests_quarantined,
        verdict=report.verdict,
    )
    assert report.ok, report.discrepancies
    assert report.turns == len(turns) + len(later) and report.turns_quarantined == 0
    assert report.requests_quarantined == 0 and report.memories_stored > 0
