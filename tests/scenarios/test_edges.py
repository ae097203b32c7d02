"""What a new or hostile user meets at the edges: the publish CLI, the broker's port, the HTTP API, `memlane
run`, the README's own examples. Each case failed before its fix."""

from __future__ import annotations

import json
import resource
import socket
import time
from pathlib import Path

import pytest
from confluent_kafka.admin import AdminClient
from scenario_support import Pipeline, record
from typer.testing import CliRunner

from schemas.errors import BrokerError
from sinks.search import ServerThread
from streams.broker import BrokerSettings, LocalBroker
from streams.cli import app
from streams.kafka.consumer import read_topic
from streams.settings import Settings
from streams.wiring.stores import search_app

REPO = Path(__file__).resolve().parents[2]
SAMPLE = REPO / "docs" / "examples" / "turns.jsonl"


def cli_env(settings: Settings) -> dict[str, str]:
    return {
        "MEMLANE_KAFKA_BOOTSTRAP": settings.kafka_bootstrap,
        "MEMLANE_STATE_DIR": str(settings.state_dir),
        **{f"MEMLANE_TOPICS__{name.upper()}": value for name, value in settings.topics.model_dump().items()},
        "COLUMNS": "200",
    }


def test_publish_validates_and_encodes_every_line_before_sending(kafka_settings: Settings, tmp_path: Path) -> None:
    lines = SAMPLE.read_text().splitlines()
    bad = tmp_path / "bad.jsonl"
    surrogate = json.loads(lines[3])
    surrogate["content"] = "caf\udc80"
    nul = {**json.loads(lines[1]), "conversation_id": "conv\u00001"}
    huge = {**json.loads(lines[2]), "conversation_id": "c" * 200_000}
    bad.write_text(
        "\n".join([lines[0], lines[1], lines[2], json.dumps(surrogate), json.dumps(nul), json.dumps(huge)]) + "\n"
    )
    result = CliRunner().invoke(app, ["publish", str(bad), "--no-progress"], env=cli_env(kafka_settings))
    sent = sum(1 for _ in read_topic(kafka_settings.kafka, kafka_settings.topics.turns))
    assert result.exit_code == 2, result.output
    assert sent == 0, "nothing was sent"
    assert "line 4" in result.output and "not valid Unicode" in result.output
    assert "line 5" in result.output and "control characters" in result.output
    assert "line 6" in result.output and "at most 256 characters" in result.output
    good = CliRunner().invoke(app, ["publish", str(SAMPLE), "--no-progress"], env=cli_env(kafka_settings))
    assert good.exit_code == 0, good.output
    assert sum(1 for _ in read_topic(kafka_settings.kafka, kafka_settings.topics.turns)) == len(lines)
    record("publish: bad lines reject the whole file", lines=6, rejected=3, sent_before_fix_would_be=3, sent=sent)


def test_undelivered_lines_are_named_after_an_outage(kafka_settings: Settings, tmp_path: Path) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        dead = f"127.0.0.1:{sock.getsockname()[1]}"
    env = {**cli_env(kafka_settings), "MEMLANE_KAFKA_BOOTSTRAP": dead, "MEMLANE_DELIVERY_TIMEOUT_S": "3"}
    began = time.monotonic()
    result = CliRunner().invoke(app, ["publish", str(SAMPLE), "--no-progress"], env=env)
    took = time.monotonic() - began
    assert result.exit_code == 1, result.output
    assert "not delivered (5): line 1, line 2, line 3, line 4, line 5" in result.output
    assert "publish summary" in result.output and "re-publish" in result.output
    record("publish: broker down", lines=5, undelivered_named=5, seconds=round(took, 1))


def test_a_foreign_broker_on_the_port_is_named_not_taken_for_ours(broker_bootstrap: str, tmp_path: Path) -> None:
    port = int(broker_bootstrap.rsplit(":", 1)[1])
    ours = LocalBroker(BrokerSettings(data_dir=tmp_path / "kafka", port=port, controller_port=0, heap="256m"))
    with pytest.raises(BrokerError) as caught:
        ours.start()
    message = str(caught.value)
    assert "another Kafka broker" in message and f"port {port}" in message and "pid " in message
    assert ours.pid() is None and not ours.status().running
    record("broker start on a port another broker holds", refused=1, names_pid="pid " in message)


def _rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _raw_request(port: int, head: bytes, body_bytes: int) -> bytes:
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(head)
        try:
            sock.sendall(b"x" * min(body_bytes, 65_536))
        except OSError:
            pass
        sock.shutdown(socket.SHUT_WR)
        return sock.recv(4096)


def test_the_api_refuses_big_or_keyless_bodies_before_reading_them(tmp_path: Path) -> None:
    settings = Settings(api_keys={"k-acme": "acme"}, state_dir=tmp_path / "state")
    before = _rss_mb()
    with ServerThread(search_app(settings)) as server:
        keyless = _raw_request(
            server.port, b"POST /v1/search HTTP/1.1\r\nHost: x\r\nContent-Length: 104857600\r\n\r\n", 100 * 2**20
        )
        big = _raw_request(
            server.port,
            b"POST /v1/search HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer k-acme\r\nContent-Length: 209715200\r\n\r\n",
            200 * 2**20,
        )
        chunked = _raw_request(
            server.port,
            b"POST /v1/search HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer k-acme\r\nTransfer-Encoding: chunked\r\n\r\n"
            + b"10000\r\n"
            + b"y" * 65_536
            + b"\r\n"
            + b"10000\r\n"
            + b"y" * 65_536
            + b"\r\n0\r\n\r\n",
            0,
        )
    grown = _rss_mb() - before
    assert keyless.startswith(b"HTTP/1.1 401"), keyless[:200]
    assert big.startswith(b"HTTP/1.1 413"), big[:200]
    assert chunked.startswith(b"HTTP/1.1 413"), chunked[:200]
    record(
        "API: 100 MB without key, 200 MB with key, chunked",
        keyless=401,
        big=413,
        chunked=413,
        rss_growth_mb=round(grown, 1),
    )
    assert grown < 60, f"the server grew {grown:.0f} MB"


def test_memlane_run_leaves_no_topics_groups_or_workspace(kafka_settings: Settings, tmp_path: Path) -> None:
    env = {
        "MEMLANE_KAFKA_BOOTSTRAP": kafka_settings.kafka_bootstrap,
        "MEMLANE_STATE_DIR": str(tmp_path / "state"),
        "MEMLANE_DATA_DIR": str(tmp_path / "no-data"),
        "MEMLANE_EXTRACTOR": "heuristic",
        "COLUMNS": "200",
    }
    admin = AdminClient({"bootstrap.servers": kafka_settings.kafka_bootstrap})
    topics_before = set(admin.list_topics(timeout=10).topics)
    groups_before = {g.group_id for g in admin.list_consumer_groups().result(30).valid}
    result = CliRunner().invoke(app, ["run"], env=env)
    assert result.exit_code == 0, result.output
    assert "every turn accounted for" in result.output and "cleaned up:" in result.output
    left_topics = set(admin.list_topics(timeout=10).topics) - topics_before
    left_groups = {g.group_id for g in admin.list_consumer_groups().result(30).valid} - groups_before
    runs = tmp_path / "state" / "runs"
    record(
        "memlane run clean-up",
        topics_left=len(left_topics),
        groups_left=len(left_groups),
        workspaces_left=len(list(runs.glob("*"))) if runs.exists() else 0,
    )
    assert not left_topics and not left_groups
    assert not runs.exists() or not any(runs.iterdir())


def test_configuration_errors_are_one_line_without_the_secret(tmp_path: Path) -> None:
    env = {"MEMLANE_API_KEYS": '{"sk-live-canary-31337": 5}', "MEMLANE_BROKER__PORT": "abc"}
    result = CliRunner().invoke(app, ["topics", "list"], env=env)
    assert result.exit_code == 2
    assert "sk-live-canary-31337" not in result.output
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert lines == [
        "configuration error: MEMLANE_API_KEYS[<key>]: Input should be a valid string",
        "configuration error: MEMLANE_BROKER__PORT: Input should be a valid integer, "
        "unable to parse string as an integer",
    ]
    search = CliRunner().invoke(
        app, ["search", "x", "--url", "http://127.0.0.1:9", "--tenant", "acme", "--api-key", "k"]
    )
    assert search.exit_code == 2 and "--tenant applies to a local search" in search.output
    record("config errors and --tenant with --url", exit_codes=(result.exit_code, search.exit_code), secret_shown=False)


def test_state_lives_under_one_directory_and_evaluation_data_is_never_written(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MEMLANE_DATA_DIR", str(tmp_path / "eval"))
    monkeypatch.setenv("MEMLANE_STATE_DIR", str(tmp_path / "state"))
    settings = Settings()
    assert settings.data_dir == tmp_path / "eval"
    for path in (settings.blob_dir, settings.qdrant_dir, settings.broker_settings().data_dir, settings.budget_path):
        assert path is not None and (tmp_path / "state") in path.parents, path
    assert settings.memory_store_url().startswith(f"edge://{(tmp_path / 'state').resolve()}")


def test_the_readme_pipeline_example_finds_its_memory(kafka_settings: Settings, tmp_path: Path) -> None:
    pipeline = Pipeline.for_test(
        kafka_settings.model_copy(update={"tenant_id": "acme", "api_keys": {"k": "acme"}}), tmp_path
    )
    from datetime import UTC, datetime

    from schemas.events import ConversationTurn, Role

    pipeline.publish(
        [
            ConversationTurn(
                event_id="evt-1",
                conversation_id="conv-1",
                turn_index=0,
                tenant_id="acme",
                user_id="ana",
                platform="web",
                role=Role.USER,
                content="I moved to Lisbon in May.",
                token_count=8,
                event_time=datetime.now(UTC),
            )
        ]
    )
    pipeline.drain_processors()
    pipeline.extract()
    pipeline.sinks()
    from fastapi.testclient import TestClient

    from streams.wiring.stores import memory_store

    with memory_store(pipeline.settings) as store, TestClient(search_app(pipeline.settings, store=store)) as client:
        response = client.post(  # as curl -d sends it: no Content-Type
            "/v1/search",
            content=b'{"query": "where does Ana live?", "user_id": "ana"}',
            headers={"Authorization": "Bearer k"},
        )
    assert response.status_code == 200, response.text
    texts = [hit["memory"]["text"] for hit in response.json()["hits"]]
    record("README example: publish, pipeline, curl search", hits=len(texts), top=texts[0] if texts else None)
    assert texts and texts[0] == "ana: I moved to Lisbon in May.", "the memory names its speaker"
