"""The supervisor of `memlane up`: runs every component as a child process and restarts the ones that die.

It is a process of its own (`memlane up` starts it detached, in a session of its own, so closing the
terminal does not stop the pipeline). Each component's output goes to `<state dir>/logs/<name>.log`. A
component that exits while the pipeline is up is restarted after a backoff that doubles per death in a
row (`ops.restart_backoff_s` up to `ops.restart_backoff_max_s`; a component that ran `ops.stable_after_s`
before dying starts again from the first step), and counted (`memlane_component_restarts_total`, and
in the state file). SIGTERM stops everything: SIGTERM to every component, SIGKILL to what is still up
after `ops.stop_timeout_s`, then the state file is removed. The supervisor exports `/metrics`,
`/healthz` and `/readyz` itself on the port after the components'.
"""

from __future__ import annotations

import os
import signal
import subprocess
import threading
import time
from dataclasses import dataclass

import structlog

from streams.health import HEALTH
from streams.metrics import COMPONENT_RESTARTS, COMPONENT_UP, serve_metrics
from streams.ops.components import Component, components
from streams.ops.state import ComponentState, PipelineState, state_path
from streams.settings import Settings
from streams.wiring.processes import spawn

log = structlog.get_logger(__name__)
_POLL_S = 0.5


@dataclass
class _Child:
    component: Component
    process: subprocess.Popen[bytes] | None = None
    started: float = 0.0
    deaths_in_a_row: int = 0
    due: float = 0.0


class Supervisor:
    """Starts, watches, restarts and stops the components of one deployment."""

    def __init__(self, settings: Settings, *, broker_started: bool = False) -> None:
        self.settings = settings
        self.ops = settings.ops
        self.logs = settings.state_dir / "logs"
        self.path = state_path(settings.state_dir)
        self.stop_event = threading.Event()
        self.state = PipelineState(supervisor_pid=os.getpid(), broker_started=broker_started)
        self.children = {c.name: _Child(c) for c in components(settings)}
        for name, child in self.children.items():
            self.state.components[name] = ComponentState(
                name=name,
                metrics_port=child.component.metrics_port,
                group=child.component.group,
                log=str(self.logs / f"{name}.log"),
            )

    def _start(self, child: _Child) -> None:
        component = child.component
        env = {"MEMLANE_METRICS_PORT": str(component.metrics_port)}
        child.process = spawn(
            self.settings, list(component.command), log_path=self.logs / f"{component.name}.log", env=env
        )
        child.started = time.monotonic()
        entry = self.state.components[component.name]
        entry.pid, entry.started_at = child.process.pid, time.time()
        COMPONENT_UP.labels(component.name).set(1)
        log.info("supervisor.started", component=component.name, pid=child.process.pid)
        self.state.save(self.path)

    def _reap(self, child: _Child, now: float) -> None:
        process = child.process
        if process is None or process.poll() is None:
            return
        name = child.component.name
        entry = self.state.components[name]
        entry.last_exit, entry.pid = process.returncode, None
        child.process = None
        COMPONENT_UP.labels(name).set(0)
        ran = now - child.started
        child.deaths_in_a_row = 1 if ran >= self.ops.stable_after_s else child.deaths_in_a_row + 1
        wait = min(self.ops.restart_backoff_max_s, self.ops.restart_backoff_s * 2 ** (child.deaths_in_a_row - 1))
        child.due = now + wait
        log.warning(
            "supervisor.died", component=name, exit_code=process.returncode, ran_s=round(ran, 1), restart_in_s=wait
        )
        self.state.save(self.path)

    def run(self) -> int:
        """Run until SIGTERM / SIGINT; returns the exit code."""
        for sig in (signal.SIGTERM, signal.SIGINT):
            signal.signal(sig, lambda *_: self.stop_event.set())
        serve_metrics(self.ops.metrics_base_port + len(self.children))
        for child in self.children.values():
            self._start(child)
        HEALTH.ready("supervisor")
        while not self.stop_event.wait(_POLL_S):
            HEALTH.beat()
            now = time.monotonic()
            for child in self.children.values():
                self._reap(child, now)
                if child.process is None and now >= child.due:
                    self.state.components[child.component.name].restarts += 1
                    COMPONENT_RESTARTS.labels(child.component.name).inc()
                    self._start(child)
        self.shutdown()
        return 0

    def shutdown(self) -> None:
        """SIGTERM every component, SIGKILL the ones still up after the stop timeout; remove the state file."""
        self.state.stopping = True
        self.state.save(self.path)
        running = [c.process for c in self.children.values() if c.process is not None and c.process.poll() is None]
        for process in running:
            process.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + self.ops.stop_timeout_s
        for process in running:
            try:
                process.wait(max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                log.warning("supervisor.kill", pid=process.pid)
                process.kill()
                process.wait(10)
        self.path.unlink(missing_ok=True)
        log.info("supervisor.stopped", components=len(self.children))


__all__ = ["Supervisor"]
