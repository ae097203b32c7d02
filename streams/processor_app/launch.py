"""Starting processors workers as separate OS processes (benchmarks, tools): the environment that configures one.

A worker reads everything from `MEMLANE_*` variables, so a child process gets this process's environment
plus the parts of `Settings` a caller may have changed in code: the bootstrap servers (`ensure_broker` may
have started a local broker), the topic names, the stage thresholds and the app section, each as JSON.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from streams.processor_app.config import ProcessorAppSettings
from streams.settings import Settings

_REPLACED = ("MEMLANE_KAFKA_BOOTSTRAP", "MEMLANE_TOPICS", "MEMLANE_PROCESSORS", "MEMLANE_PROCESSOR_APP")


def worker_environment(settings: Settings, app_settings: ProcessorAppSettings) -> dict[str, str]:
    """This process's environment with `settings` and `app_settings` spelled out for a worker."""
    env = {key: value for key, value in os.environ.items() if not key.startswith(_REPLACED)}
    env.update(
        {
            "MEMLANE_KAFKA_BOOTSTRAP": settings.kafka_bootstrap,
            "MEMLANE_TOPICS": settings.topics.model_dump_json(),
            "MEMLANE_PROCESSORS": settings.processors.model_dump_json(),
            "MEMLANE_PROCESSOR_APP": app_settings.model_dump_json(),
        }
    )
    return env


def spawn_worker(
    settings: Settings,
    app_settings: ProcessorAppSettings,
    *,
    log_path: Path,
    idle_exit_s: float | None = None,
) -> subprocess.Popen[bytes]:
    """Starts `python -m streams.workers.processors` with its output in `log_path`."""
    command = [sys.executable, "-m", "streams.workers.processors"]
    if idle_exit_s is not None:
        command += ["--idle-exit", str(idle_exit_s)]
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with log_path.open("wb") as out:
        return subprocess.Popen(
            command,
            env=worker_environment(settings, app_settings),
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
        )


__all__ = ["spawn_worker", "worker_environment"]
