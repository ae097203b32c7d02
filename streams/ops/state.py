"""The live pipeline's state file (`<state dir>/run/pipeline.json`): what `memlane up` started and how it is.

The supervisor rewrites it (atomically) whenever a component starts, dies or is restarted; `memlane status`
and `memlane down` read it. It holds pids, start times, restart counts, last exit codes and ports, never
configuration values.
"""

from __future__ import annotations

import json
import os
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path


@dataclass
class ComponentState:
    name: str
    pid: int | None = None
    started_at: float | None = None
    restarts: int = 0
    last_exit: int | None = None
    metrics_port: int = 0
    group: str | None = None
    log: str = ""


@dataclass
class PipelineState:
    supervisor_pid: int
    started_at: float = field(default_factory=time.time)
    broker_started: bool = False
    stopping: bool = False
    components: dict[str, ComponentState] = field(default_factory=dict)

    def save(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        scratch = path.with_suffix(".tmp")
        scratch.write_text(json.dumps(asdict(self), indent=2))
        os.replace(scratch, path)

    @classmethod
    def load(cls, path: Path) -> PipelineState | None:
        try:
            raw = json.loads(path.read_text())
        except (OSError, ValueError):
            return None
        parts = {name: ComponentState(**value) for name, value in raw.pop("components", {}).items()}
        return cls(**raw, components=parts)


def state_path(state_dir: Path) -> Path:
    return state_dir / "run" / "pipeline.json"


def alive(pid: int | None) -> bool:
    """Whether process `pid` exists and is not a zombie."""
    if not pid:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii", errors="replace") as stat:
            return stat.read().split(") ", 1)[1][:1] != "Z"
    except OSError:
        return True


__all__ = ["ComponentState", "PipelineState", "alive", "state_path"]
