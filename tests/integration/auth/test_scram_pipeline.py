"""The whole pipeline on the SCRAM-over-TLS broker, at DEBUG, with every secret a canary.

Publish (librdkafka), processors (faust over aiokafka, a child process), extraction and both sinks
(librdkafka), the search API and the verifier all connect with the credentials of the settings; then every
captured log (this process's file descriptors, the processors' log, the broker's own logs), the `/metrics`
page and every byte of every topic on the broker (keys, values, headers) are searched for the canaries.
"""

from __future__ import annotations

import logging
import urllib.request
from pathlib import Path

import pytest
from confluent_kafka.admin import AdminClient
from pydantic import SecretStr
from scenarios.scenario_support import Pipeline, record
from scram_support import (
    CANARY_ANTHROPIC_KEY,
    CANARY_API_KEY,
    CANARY_PASSWORD,
    CANARY_QDRANT_KEY,
    CANARY_SEARCH_KEY,
    settings_on,
)

from sinks.search import ServerThread
from streams.broker import BrokerStatus, LocalBroker
from streams.broker.local import free_port
from streams.ingest.turn_files import load_turns
from streams.kafka.consumer import read_topic
from streams.kafka.provision import provision
from streams.logs import configure_logging
from streams.metrics import serve_metrics
from streams.wiring.stores import memory_store, search_app

REPO = Path(__file__).resolve().parents[3]
SAMPLE = REPO / "docs" / "examples" / "turns.jsonl"


def _topic_bytes(settings_kafka, admin: AdminClient) -> tuple[int, int, bytes]:
    """Every topic's messages on the broker as one byte string (keys, values, header names and values)."""
    chunks: list[bytes] = []
    topics = messages = 0
    for topic in sorted(admin.list_topics(timeout=30).topics):
        topics += 1
        for message in read_topic(settings_kafka, topic):
            messages += 1
            chunks += [message.key() or b"", message.value() or b""]
            for name, value in message.headers() or []:
                chunks += [name.encode(), value or b""]
    return topics, messages, b"\n".join(chunks)


def test_the_pipeline_runs_on_the_scram_broker_and_no_secret_leaks(
    scram_broker: tuple[LocalBroker, BrokerStatus], tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    broker, status = scram_broker
    settings = settings_on(
        status,
        tmp_path,
        tenant_id="acme",
        log_level="DEBUG",
        api_keys={CANARY_API_KEY: "acme"},
        anthropic_api_key=SecretStr(CANARY_ANTHROPIC_KEY),
        qdrant_api_key=SecretStr(CANARY_QDRANT_KEY),
        search_api_key=SecretStr(CANARY_SEARCH_KEY),
    )
    canaries = [CANARY_PASSWORD, CANARY_API_KEY, CANARY_ANTHROPIC_KEY, CANARY_QDRANT_KEY, CANARY_SEARCH_KEY]
    broker_secret = broker.client_conf()["sasl.password"]
    assert isinstance(broker_secret, str)
    configure_logging("DEBUG")
    try:
        assert provision(AdminClient(settings.kafka_config()), settings.topic_catalogue()).created
        metrics_port = serve_metrics(free_port())
        turns, errors = load_turns(SAMPLE, "jsonl", tenant_id="acme")
        assert not errors
        pipeline = Pipeline.for_test(settings, tmp_path)
        published = pipeline.publish(turns)
        processors_log = pipeline.drain_processors()
        extracted = pipeline.extract()
        pipeline.sinks()
        report = pipeline.verify()
        with memory_store(pipeline.settings) as store, ServerThread(search_app(pipeline.settings, store=store)) as api:
            found = _search(api.port, CANARY_API_KEY)
            refused = _search(api.port, CANARY_API_KEY + "-wrong")
        metrics = urllib.request.urlopen(f"http://127.0.0.1:{metrics_port}/metrics", timeout=10).read()
        topics, messages, stored = _topic_bytes(settings.kafka, AdminClient(settings.kafka_config()))
    finally:
        configure_logging("INFO")
        logging.getLogger().setLevel(logging.WARNING)
    captured = capfd.readouterr()
    logs = {
        "this process (stdout, stderr, librdkafka)": captured.out + captured.err,
        "processors worker": processors_log,
        **{f"broker {path.name}": path.read_text(errors="replace") for path in broker.logs_dir.glob("*.log*")},
    }
    record(
        "SCRAM-SHA-512 over TLS: whole pipeline at DEBUG",
        published=published.delivered,
        requests_extracted=extracted.extracted,
        memories=report.memories_stored,
        verdict=report.verdict,
        log_bytes=sum(len(text) for text in logs.values()),
        metrics_bytes=len(metrics),
        topics=topics,
        messages=messages,
        canaries=len(canaries) + 1,
    )
    assert published.delivered == len(turns) and report.ok, report.discrepancies
    assert extracted.extracted > 0 and report.memories_stored > 0 and found == 200 and refused in (401, 403)
    assert pipeline.settings.to_env()["MEMLANE_LOG_LEVEL"] == "DEBUG"
    assert "Using selector" in processors_log, "asyncio's DEBUG line: the processors worker logged at DEBUG"
    assert messages >= len(turns) and topics >= len(settings.topic_catalogue())
    for canary in [*canaries, broker_secret]:
        for source, text in logs.items():
            assert canary not in text, f"a secret appears in the log of {source}"
        assert canary.encode() not in metrics, "a secret appears in /metrics"
        assert canary.encode() not in stored, "a secret appears in a topic"


def _search(port: int, key: str) -> int:
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}/v1/search",
        data=b'{"query": "where does Ana live?", "user_id": "ana"}',
        headers={"Authorization": f"Bearer {key}", "Content-Type": "application/json"},
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return int(response.status)
    except urllib.error.HTTPError as exc:
        return int(exc.code)
