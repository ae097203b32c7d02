"""Workers as child processes: `memlane worker NAME` started with this process's configuration.

A child reads everything from `MEMLANE_*` variables, so it gets this process's environment without its
`MEMLANE_*` variables, plus the whole `Settings` spelled out by `Settings.to_env()` (the one way
configuration reaches a child: a caller may have changed settings in code, e.g. the bootstrap servers of
a broker it started, or a run's own topics).
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from streams.processor_app.app_settings import ProcessorAppSettings
from streams.settings import Settings


def child_environment(settings: Settings) -> dict[str, str]:
    """This process's environment with `settings` replacing every `MEMLANE_*` variable."""
    env = {key: value for key, value in os.environ.items() if not key.startswith("MEMLANE_")}
    env.update(settings.to_env())
    return env


def worker_command(name: str, *, idle_exit_s: float | None = None) -> list[str]:
    """The command line of `memlane worker NAME` run by this interpreter."""
    command = [sys.executable, "-m", "streams.cli", "worker", name]
    if idle_exit_s is not None:
        command += ["--idle-exit", str(idle_exit_s)]
    return command


def serve_command(port: int, *, host: str = "127.0.0.1") -> list[str]:
    """The command line of `memlane serve` on `host:port` run by this interpreter."""
    return [sys.executable, "-m", "streams.cli", "serve", "--host", host, "--port", str(port), "--log-level", "warning"]


def spawn(
    settings: Settings, command: list[str], *, log_path: Path, env: dict[str, str] | None = None
) -> subprocess.Popen[bytes]:
    """Start `command` with `settings` (and `env` on top) as its configuration, its output in `log_path`."""
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with log_path.open("ab") as out:
        return subprocess.Popen(
            command,
            env={**child_environment(settings), **(env or {})},
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
        )


def spawn_worker(
    settings: Settings,
    name: str,
    *,
    log_path: Path,
    idle_exit_s: float | None = None,
) -> subprocess.Popen[bytes]:
    """Start worker `name` with its output in `log_path`."""
    log_path.unlink(missing_ok=True)
    return spawn(settings, worker_command(name, idle_exit_s=idle_exit_s), log_path=log_path)


def spawn_processors(
    settings: Settings,
    app_settings: ProcessorAppSettings | None = None,
    *,
    log_path: Path,
    idle_exit_s: float | None = None,
) -> subprocess.Popen[bytes]:
    """Start a processors worker (with `app_settings` instead of the configured section, when given)."""
    if app_settings is not None:
        settings = settings.model_copy(update={"processor_app": app_settings})
    return spawn_worker(settings, "processors", log_path=log_path, idle_exit_s=idle_exit_s)


def run_worker_process(
    settings: Settings, name: str, *, idle_exit_s: float, timeout_s: float = 600.0, log_path: Path | None = None
) -> int:
    """Run worker `name` in a child process until it exits; returns its exit code."""
    command = worker_command(name, idle_exit_s=idle_exit_s)
    if log_path is None:
        return subprocess.run(command, env=child_environment(settings), check=False, timeout=timeout_s).returncode
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with log_path.open("wb") as out:
        result = subprocess.run(
            command,
            env=child_environment(settings),
            stdout=out,
            stderr=subprocess.STDOUT,
            check=False,
            timeout=timeout_s,
        )
    return result.returncode


__all__ = [
    "child_environment",
    "run_worker_process",
    "serve_command",
    "spawn",
    "spawn_processors",
    "spawn_worker",
    "worker_command",
]
