"""`memlane up`, `down` and `status`: bring the whole pipeline up as supervised processes, see it, stop it.

up       the local broker when nothing answers at MEMLANE_KAFKA_BOOTSTRAP (then `down` stops it too),
         the topic catalogue provisioned, then the supervisor started detached; returns once every
         component answers `/readyz` (or says which did not)
status   per component: pid, uptime, restarts, last exit, `/healthz` and `/readyz`, its group's lag in
         messages and seconds; and the turn-to-searchable p50/p95 that `serve` measures
down     SIGTERM to the supervisor (which stops every component, then itself), SIGKILL after the stop
         timeout; checks that no process of the pipeline is left
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field

import httpx
from confluent_kafka.admin import AdminClient
from prometheus_client.parser import text_string_to_metric_families

from schemas.errors import MemlaneError
from streams.broker.local import LocalBroker
from streams.broker.probe import broker_answers
from streams.kafka.consumer_lag import LagMonitor, PartitionLag
from streams.kafka.provision import provision
from streams.ops.state import PipelineState, alive, state_path
from streams.settings import Settings
from streams.wiring.groups import pipeline_groups
from streams.wiring.processes import child_environment


@dataclass
class ComponentStatus:
    name: str
    pid: int | None
    running: bool
    uptime_s: float | None
    restarts: int
    last_exit: int | None
    live: str
    ready: str
    lag: int | None = None
    lag_seconds: float | None = None
    stalled: bool = False


@dataclass
class Status:
    up: bool
    supervisor_pid: int | None = None
    components: list[ComponentStatus] = field(default_factory=list)
    freshness: dict[str, tuple[float, float, int]] = field(default_factory=dict)
    """priority class -> (p50 s, p95 s, count) of turn-to-searchable."""


def _probe(url: str) -> str:
    try:
        response = httpx.get(url, timeout=2.0)
    except httpx.HTTPError:
        return "no answer"
    return "ok" if response.status_code == 200 else f"{response.status_code}: {response.text[:80]}"


def _supervisor_command(*, broker_started: bool) -> list[str]:
    command = [sys.executable, "-m", "streams.cli", "up", "--foreground"]
    return [*command, "--broker-started"] if broker_started else command


def up(settings: Settings, *, wait_s: float = 120.0) -> Status:
    """Bring the pipeline up (no-op when it is already up); the status once every component is ready."""
    path = state_path(settings.state_dir)
    current = PipelineState.load(path)
    if current is not None and alive(current.supervisor_pid):
        return status(settings)
    broker_started = False
    kafka = settings.kafka
    if not broker_answers(kafka.bootstrap_servers, timeout=3.0):
        broker = LocalBroker(settings.broker_settings())
        started = broker.start()
        broker_started = True
        if started.bootstrap != kafka.bootstrap_servers:
            broker.stop()
            raise MemlaneError(
                f"the local broker listens on {started.bootstrap}, "
                f"not MEMLANE_KAFKA_BOOTSTRAP={kafka.bootstrap_servers}"
            )
    provision(AdminClient(settings.kafka_config()), settings.topic_catalogue())
    logs = settings.state_dir / "logs"
    logs.mkdir(parents=True, exist_ok=True)
    env = child_environment(settings)
    with (logs / "supervisor.log").open("ab") as out:
        subprocess.Popen(
            _supervisor_command(broker_started=broker_started),
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
    deadline = time.monotonic() + wait_s
    while time.monotonic() < deadline:
        shown = status(settings, with_lag=False)
        if shown.up and shown.components and all(c.ready == "ok" for c in shown.components):
            return status(settings)
        time.sleep(1.0)
    return status(settings)


def _freshness(settings: Settings) -> dict[str, tuple[float, float, int]]:
    """Turn-to-searchable p50/p95 per priority class, from the histogram on `serve`'s `/metrics`."""
    try:
        text = httpx.get(f"http://127.0.0.1:{settings.ops.serve_port}/metrics", timeout=2.0).text
    except httpx.HTTPError:
        return {}
    buckets: dict[str, list[tuple[float, float]]] = {}
    for family in text_string_to_metric_families(text):
        if family.name != "memlane_turn_to_searchable_seconds":
            continue
        for sample in family.samples:
            if sample.name.endswith("_bucket"):
                bound = float(sample.labels["le"])
                buckets.setdefault(sample.labels.get("priority_class", ""), []).append((bound, sample.value))
    return {name: _quantiles(sorted(points)) for name, points in buckets.items() if points and points[-1][1] > 0}


def _quantiles(points: list[tuple[float, float]]) -> tuple[float, float, int]:
    """p50 and p95 from cumulative histogram buckets (linear within a bucket), and the count."""
    total = points[-1][1]

    def at(q: float) -> float:
        wanted, lower, below = q * total, 0.0, 0.0
        for bound, count in points:
            if count >= wanted:
                if bound == float("inf"):
                    return lower
                share = (wanted - below) / (count - below) if count > below else 1.0
                return lower + (bound - lower) * share
            lower, below = bound, count
        return lower

    return at(0.5), at(0.95), int(total)


def status(settings: Settings, *, with_lag: bool = True) -> Status:
    """What runs, how long, how healthy, how far behind."""
    current = PipelineState.load(state_path(settings.state_dir))
    if current is None or not alive(current.supervisor_pid):
        return Status(up=False)
    lags: dict[str, list[PartitionLag]] = {}
    if with_lag:
        monitor = LagMonitor(settings.kafka, stall_after_s=settings.ops.stall_after_s)
        for row in monitor.measure(pipeline_groups(settings)):
            lags.setdefault(row.group, []).append(row)
    shown = Status(up=True, supervisor_pid=current.supervisor_pid)
    now = time.time()
    for entry in current.components.values():
        running = alive(entry.pid)
        base = f"http://127.0.0.1:{entry.metrics_port}"
        rows = lags.get(entry.group or "", [])
        shown.components.append(
            ComponentStatus(
                name=entry.name,
                pid=entry.pid,
                running=running,
                uptime_s=now - entry.started_at if running and entry.started_at else None,
                restarts=entry.restarts,
                last_exit=entry.last_exit,
                live=_probe(f"{base}/healthz") if running else "down",
                ready=_probe(f"{base}/readyz") if running else "down",
                lag=sum(r.lag for r in rows) if rows else None,
                lag_seconds=max((r.lag_seconds for r in rows), default=0.0) if rows else None,
                stalled=any(r.stalled for r in rows),
            )
        )
    if with_lag:
        shown.freshness = _freshness(settings)
    return shown


def down(settings: Settings) -> list[int]:
    """Stop the supervisor (and so every component) and, when `up` started it, the local broker.

    Returns the pids still alive afterwards (empty: nothing left running)."""
    path = state_path(settings.state_dir)
    current = PipelineState.load(path)
    if current is None:
        return []
    pids = [c.pid for c in current.components.values() if c.pid]
    if alive(current.supervisor_pid):
        os.kill(current.supervisor_pid, signal.SIGTERM)
        deadline = time.monotonic() + settings.ops.stop_timeout_s + 15
        while alive(current.supervisor_pid) and time.monotonic() < deadline:
            time.sleep(0.2)
        if alive(current.supervisor_pid):
            os.kill(current.supervisor_pid, signal.SIGKILL)
    for pid in pids:  # a supervisor killed before it could stop them: stop them here
        if alive(pid):
            os.kill(pid, signal.SIGKILL)
    time.sleep(0.2)
    path.unlink(missing_ok=True)
    if current.broker_started:
        LocalBroker(settings.broker_settings()).stop()
    return [pid for pid in [current.supervisor_pid, *pids] if alive(pid)]


__all__ = ["ComponentStatus", "Status", "down", "status", "up"]
