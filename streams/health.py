"""Liveness and readiness of this process, as `/healthz` and `/readyz` report them beside `/metrics`.

    live    the process's main loop is turning: it beat within `stale_after_s` (a worker's consumer loop
            beats at every poll; a process that never beats is live while it runs)
    ready   the component can do its job: a worker once partitions are assigned (or it waits for none),
            the search service once it accepts requests; `not_ready(reason)` takes it back

One `HEALTH` per process; the components set it, the metrics server reads it.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass


@dataclass(frozen=True)
class Verdict:
    ok: bool
    detail: str


class Health:
    """Thread-safe liveness (heartbeats) and readiness of one process."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._ready = False
        self._reason = "starting"
        self._beat: float | None = None
        self.stale_after_s = 600.0
        self.component = ""

    def beat(self) -> None:
        with self._lock:
            self._beat = time.monotonic()

    def ready(self, component: str | None = None) -> None:
        with self._lock:
            self._ready, self._reason = True, "ready"
            if component:
                self.component = component

    def not_ready(self, reason: str) -> None:
        with self._lock:
            self._ready, self._reason = False, reason

    def liveness(self) -> Verdict:
        with self._lock:
            if self._beat is None:
                return Verdict(True, "running")
            silent = time.monotonic() - self._beat
        if silent > self.stale_after_s:
            return Verdict(False, f"main loop silent for {silent:.0f} s (limit {self.stale_after_s:.0f} s)")
        return Verdict(True, f"main loop beat {silent:.1f} s ago")

    def readiness(self) -> Verdict:
        live = self.liveness()
        with self._lock:
            ready, reason = self._ready, self._reason
        if not live.ok:
            return live
        return Verdict(ready, reason)


HEALTH = Health()

__all__ = ["HEALTH", "Health", "Verdict"]
