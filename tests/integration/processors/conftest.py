"""Fixtures of the processors-worker tests: worker processes, killed at the end if still running."""

from __future__ import annotations

import signal
import subprocess
import sys
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from processor_worker_support import REPO_ROOT, Worker


@pytest.fixture
def start_worker(tmp_path: Path) -> Iterator[Callable[..., Worker]]:
    """Starts worker processes (`python -m streams.cli worker processors`); kills any still running at the end."""
    started: list[Worker] = []

    def start(env: dict[str, str], *args: str, command: list[str] | None = None) -> Worker:
        log_path = tmp_path / f"worker-{len(started)}-{uuid.uuid4().hex[:6]}.log"
        with log_path.open("wb") as out:
            process = subprocess.Popen(
                [*(command or [sys.executable, "-m", "streams.cli", "worker", "processors"]), *args],
                env=env,
                cwd=REPO_ROOT,
                stdout=out,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
            )
        worker = Worker(process, log_path)
        started.append(worker)
        return worker

    yield start
    for worker in started:
        if worker.process.poll() is None:
            worker.process.send_signal(signal.SIGKILL)
            worker.process.wait(10)
