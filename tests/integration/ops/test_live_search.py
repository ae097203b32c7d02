"""Live search on the embedded store: `memlane serve` owns the shard and runs the sink; searches never disturb it.

A conversation is published turn by turn while `memlane search` runs in a loop beside a real `memlane serve`,
processors and extraction worker (child processes). Every search succeeds, the sink never fails a batch,
and the last fact is searchable within a bounded time. A second writer is refused, naming the owner;
`memlane verify` reads a snapshot meanwhile.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest
from typer.testing import CliRunner

from schemas.events import ConversationTurn, Role
from streams.cli import app
from streams.settings import Settings
from streams.wiring.processes import serve_command, spawn, spawn_worker, worker_command
from streams.wiring.stores import publisher

FACT = "I adopted a tortoise named Quasar last week."
TURNS = [
    "Hi! I moved to Lisbon in May and started at the harbour office.",
    "That sounds exciting, how do you like the city so far?",
    "I love it. My sister Maria lives in Porto, so we meet most weekends.",
    "Do you two have plans for the summer?",
    "We decided to hike the Rota Vicentina in August.",
    "Next step: I will book the guesthouses before Friday.",
    FACT,
]
FOUND_WITHIN_S = 60.0


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(10)


@pytest.fixture
def live(kafka_settings: Settings, tmp_path: Path) -> Iterator[tuple[Settings, str, Path]]:
    processors = kafka_settings.processors.model_copy(update={"idle_timeout_s": 2.0, "fact_flush_interval_s": 2.0})
    app_settings = kafka_settings.processor_app.model_copy(update={"drain_flush_s": 2.0})
    settings = kafka_settings.model_copy(
        update={
            "tenant_id": "acme",
            "api_keys": {"k-acme": "acme"},
            "extractor": "heuristic",
            "processors": processors,
            "processor_app": app_settings,
        }
    )
    port = _free_port()
    logs = tmp_path / "logs"
    serve = spawn(settings, serve_command(port=port), log_path=logs / "serve.log")
    workers = [spawn_worker(settings, name, log_path=logs / f"{name}.log") for name in ("processors", "extract")]
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while True:
        try:
            if httpx.get(f"{url}/healthz", timeout=2).status_code == 200:
                break
        except httpx.HTTPError:
            pass
        assert serve.poll() is None, (logs / "serve.log").read_text()
        assert time.monotonic() < deadline, "memlane serve did not come up"
        time.sleep(0.3)
    try:
        yield settings, url, logs
    finally:
        for process in (*workers, serve):
            _stop(process)


def _search(settings: Settings, query: str) -> tuple[int, list[str], str]:
    """`memlane search QUERY --json` as a process of its own, as a user runs it beside the pipeline."""
    result = subprocess.run(
        [sys.executable, "-m", "streams.cli", "search", query, "--user", "ana", "--json"],
        env={**os.environ, **settings.to_env(), "COLUMNS": "200"}, capture_output=True, text=True, timeout=120,
        check=False,
    )  # fmt: skip
    if result.returncode != 0:
        return result.returncode, [], result.stdout + result.stderr
    body = json.loads(result.stdout)
    return 0, [hit["memory"]["text"] for hit in body["hits"]], result.stdout + result.stderr


def test_memories_are_searchable_live_and_the_sink_is_never_disturbed(live: tuple[Settings, str, Path]) -> None:
    settings, url, logs = live
    outcomes: list[int] = []
    answers: list[int] = []
    stop = threading.Event()

    def cli_in_a_loop() -> None:
        while not stop.is_set():
            code, _texts, _output = _search(settings, "where does Ana live?")
            outcomes.append(code)

    def api_in_a_loop() -> None:
        with httpx.Client(base_url=url, headers={"Authorization": "Bearer k-acme"}, timeout=30) as client:
            while not stop.is_set():
                answers.append(client.post("/v1/search", json={"query": "Ana's plans", "user_id": "ana"}).status_code)
                time.sleep(0.1)

    searchers = [threading.Thread(target=cli_in_a_loop), threading.Thread(target=api_in_a_loop)]
    for searcher in searchers:
        searcher.start()
    try:
        with publisher(settings) as turns:
            for index, text in enumerate(TURNS):
                turns.publish(
                    ConversationTurn(
                        event_id=f"live-{index}",
                        conversation_id="live-1",
                        turn_index=index,
                        tenant_id="acme",
                        user_id="ana",
                        speaker="Ana",
                        platform="web",
                        role=Role.USER,
                        content=text,
                        token_count=len(text.split()),
                        event_time=datetime.now(UTC),
                    )
                )
                time.sleep(0.5)
        published = time.monotonic()
        found_after = None
        while time.monotonic() - published < FOUND_WITHIN_S:
            code, texts, output = _search(settings, "What pet did Ana adopt?")
            assert code == 0, output
            if any("Quasar" in text for text in texts):
                found_after = time.monotonic() - published
                break
            time.sleep(1.0)
    finally:
        stop.set()
        for searcher in searchers:
            searcher.join()
    print(
        f"\nlast fact searchable {found_after} s after it was published; meanwhile {len(outcomes)} CLI searches, "
        f"{len(answers)} API searches"
    )
    assert found_after is not None, f"the last fact was not searchable within {FOUND_WITHIN_S} s"
    assert outcomes and set(outcomes) == {0}, "every `memlane search` beside the live sink succeeded"
    assert len(answers) > 20 and set(answers) == {200}, "every API search beside the live sink succeeded"

    metrics = httpx.get(f"{url}/metrics", timeout=5).text
    failures = [line for line in metrics.splitlines() if line.startswith("memlane_batch_failures_total")]
    assert not [line for line in failures if 'component="sink-qdrant"' in line and not line.endswith(" 0.0")]
    assert "memlane_consumergroup_lag{" in metrics, "serve exports consumer lag"
    fresh = [line for line in metrics.splitlines() if line.startswith("memlane_turn_to_searchable_seconds_count")]
    assert fresh and sum(float(line.rsplit(" ", 1)[1]) for line in fresh) > 0, "freshness is measured"

    second = subprocess.run(
        worker_command("sink-qdrant", idle_exit_s=5), env={**os.environ, **settings.to_env()},
        capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert second.returncode != 0 and "owned by pid" in second.stdout + second.stderr, second.stdout + second.stderr

    verified = CliRunner().invoke(app, ["verify"], env=settings.to_env())
    assert "ALL-TURNS-ACCOUNTED" in verified.output, verified.output
    assert "Traceback" not in (logs / "serve.log").read_text()
