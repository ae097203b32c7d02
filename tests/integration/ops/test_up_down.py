"""`memlane up` brings every component up supervised, restarts one killed with -9, and `down` leaves nothing."""

from __future__ import annotations

import json
import os
import signal
import socket
import time
from pathlib import Path

from typer.testing import CliRunner

from streams.cli import app
from streams.ops.lifecycle import down, status, up
from streams.ops.state import PipelineState, alive, state_path
from streams.settings import Settings


def _free_block(size: int) -> int:
    """A first port such that it and the `size - 1` after it are free now."""
    for _attempt in range(50):
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            base = int(probe.getsockname()[1])
        if base + size >= 65000:
            continue
        try:
            for port in range(base, base + size):
                with socket.socket() as sock:
                    sock.bind(("127.0.0.1", port))
            return base
        except OSError:
            continue
    raise AssertionError("no free block of ports")


def test_up_restarts_a_killed_component_and_down_leaves_nothing_running(
    kafka_settings: Settings, tmp_path: Path
) -> None:
    base = _free_block(8)
    ops = kafka_settings.ops.model_copy(
        update={"metrics_base_port": base, "serve_port": base + 7, "restart_backoff_s": 0.5, "stable_after_s": 5.0}
    )
    settings = kafka_settings.model_copy(
        update={"tenant_id": "acme", "api_keys": {"k": "acme"}, "extractor": "heuristic", "ops": ops}
    )
    try:
        shown = up(settings, wait_s=180)
        names = [c.name for c in shown.components]
        assert names == ["processors", "extract", "sink-blobs", "summarise", "label", "serve"], names
        assert all(c.running and c.ready == "ok" and c.live == "ok" for c in shown.components), shown
        assert not up(settings).components[0].restarts, "up on a running pipeline changes nothing"

        extract = next(c for c in shown.components if c.name == "extract")
        assert extract.pid is not None
        os.kill(extract.pid, signal.SIGKILL)
        deadline = time.monotonic() + 120
        while True:
            now = {c.name: c for c in status(settings, with_lag=False).components}["extract"]
            if now.restarts == 1 and now.ready == "ok" and now.pid != extract.pid:
                break
            assert time.monotonic() < deadline, now
            time.sleep(1.0)
        assert now.last_exit == -signal.SIGKILL

        shown_json = CliRunner().invoke(app, ["status", "--json"], env={**settings.to_env(), "COLUMNS": "200"})
        assert shown_json.exit_code == 0, shown_json.output
        report = json.loads(shown_json.output)
        assert report["up"] and {c["name"]: c["restarts"] for c in report["components"]}["extract"] == 1
        assert all(c["lag"] == 0 for c in report["components"] if c["lag"] is not None)
        state = PipelineState.load(state_path(settings.state_dir))
        assert state is not None
        pids = [state.supervisor_pid, *(c.pid for c in state.components.values() if c.pid)]
    finally:
        left = down(settings)
    assert left == [], f"still running: {left}"
    assert not any(alive(pid) for pid in pids)
    assert not state_path(settings.state_dir).exists()
    assert not status(settings).up
    logs = settings.state_dir / "logs"
    assert {"supervisor.log", "extract.log", "serve.log"} <= {p.name for p in logs.iterdir()}
