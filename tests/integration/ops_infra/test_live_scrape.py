"""The dashboard and the alert rules read only series a real scrape carries.

A real worker (`python -m streams.cli worker sink-blobs`, on the session broker with this test's topics)
serves `/metrics` on its `MEMLANE_METRICS_PORT` and is scraped over HTTP; the search API is scraped
in-process (its `/metrics` route through the ASGI app, since starting `memlane serve` opens the stores).
prometheus_client lists HELP/TYPE lines for labelled metrics with no samples yet, so a worker that has
handled nothing still names every metric of the registry it imports.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
from fastapi.testclient import TestClient

from streams.broker.local import free_port
from streams.deploy.coverage import awaited, missing_on_wire, named_series, recorded, wire_names
from streams.deploy.metric_catalogue import MetricCatalogue, series
from streams.deploy.rulefmt import load_rule_file
from streams.settings import Settings
from streams.wiring.stores import search_app

REPO = Path(__file__).resolve().parents[3]


def _scrape_worker(settings: Settings, tmp_path: Path) -> str:
    port = free_port()
    env = {**os.environ, **settings.to_env(), "MEMLANE_METRICS_PORT": str(port)}
    log = (tmp_path / "sink-blobs.log").open("wb")
    command = [sys.executable, "-m", "streams.cli", "worker", "sink-blobs", "--idle-exit", "120"]
    process = subprocess.Popen(command, env=env, cwd=REPO, stdout=log, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 90
        while True:
            assert process.poll() is None, (tmp_path / "sink-blobs.log").read_text()[-3000:]
            try:
                response = httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=5)
                if response.status_code == 200:
                    return response.text
            except httpx.TransportError:
                pass
            assert time.monotonic() < deadline, "the worker never served /metrics"
            time.sleep(0.3)
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(60)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(10)
        log.close()


def test_every_series_read_is_on_a_live_scrape(kafka_settings: Settings, tmp_path: Path) -> None:
    worker = _scrape_worker(kafka_settings, tmp_path)
    with TestClient(search_app(kafka_settings)) as client:
        api = client.get("/metrics")
    assert api.status_code == 200

    rules = load_rule_file((REPO / "infra/prometheus/alerts.yml").read_text())
    named = named_series(rules, json.loads((REPO / "infra/grafana/memlane.json").read_text()))
    catalogue = MetricCatalogue.scan(REPO)
    pending = set(awaited(catalogue, named))
    wire = wire_names(worker) | wire_names(api.text)
    assert missing_on_wire(named, wire, recorded(rules) | pending) == []

    # what the code says the blob sink exports, it serves
    worker_wire = wire_names(worker)
    for name in catalogue.exports["sink-blobs"]:
        definition = catalogue.definition(name)
        assert definition is not None and series(definition.family, definition.kind) <= worker_wire, name
    assert "memlane_search_http_requests_total" in wire_names(api.text)
