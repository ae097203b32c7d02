"""Who owns the embedded memory store: exactly one process may open a Qdrant edge shard directory.

The owner holds an exclusive `flock` on `<shard>.owner.lock` (released by the kernel when the process
dies, even by `kill -9`) and describes itself in `<shard>.owner.json`: pid, component, and the URL of its
search service when it serves one (`memlane serve`). Another process that wants the shard reads that
description: `memlane search` asks the owner's service; tools that only read (`memlane verify`,
`memlane search` beside a bare sink worker) open a copy of the shard; a second writer is refused with an
error that names the owner. Inside one process the claim is re-entrant (counted), so a process may open
its own shard more than once.
"""

from __future__ import annotations

import fcntl
import json
import os
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from schemas.errors import ConfigError

_HELD: dict[Path, tuple[IO[str], int]] = {}
_LOCK = threading.Lock()


@dataclass(frozen=True)
class OwnerInfo:
    pid: int
    component: str
    url: str | None = None


def _paths(shard: Path) -> tuple[Path, Path]:
    shard = shard.resolve()
    return shard.with_name(shard.name + ".owner.lock"), shard.with_name(shard.name + ".owner.json")


def current_owner(shard: Path) -> OwnerInfo | None:
    """The process holding `shard`, or None when nobody does (a stale description is ignored)."""
    lock_path, info_path = _paths(shard)
    with _LOCK:
        if lock_path in _HELD:
            return _read(info_path) or OwnerInfo(os.getpid(), "this process")
    if not lock_path.exists():
        return None
    with lock_path.open("a+") as probe:
        try:
            fcntl.flock(probe, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return _read(info_path) or OwnerInfo(-1, "unknown")
        fcntl.flock(probe, fcntl.LOCK_UN)
    return None


def _read(info_path: Path) -> OwnerInfo | None:
    try:
        raw = json.loads(info_path.read_text())
        return OwnerInfo(int(raw["pid"]), str(raw["component"]), raw.get("url"))
    except (OSError, ValueError, KeyError, TypeError):
        return None


def claim(shard: Path, component: str, *, url: str | None = None) -> None:
    """Become the owner of `shard` (re-entrant in this process); `ConfigError` naming the owner otherwise."""
    lock_path, info_path = _paths(shard)
    with _LOCK:
        held = _HELD.get(lock_path)
        if held is not None:
            _HELD[lock_path] = (held[0], held[1] + 1)
            if url is not None:
                describe(shard, component, url=url)
            return
        lock_path.parent.mkdir(parents=True, exist_ok=True)
        handle = lock_path.open("a+")
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.close()
            owner = _read(info_path)
            who = f"pid {owner.pid} ({owner.component})" if owner else "another process"
            hint = f"; its search service is at {owner.url}" if owner and owner.url else ""
            raise ConfigError(
                f"the embedded memory store {shard} is owned by {who}{hint}: one process at a time may open it "
                "(`memlane serve` runs the memory sink itself: no `memlane worker sink-qdrant` beside it)"
            ) from None
        _HELD[lock_path] = (handle, 1)
    describe(shard, component, url=url)


def describe(shard: Path, component: str, *, url: str | None = None) -> None:
    """Rewrite the owner's description (e.g. once its search service listens)."""
    _lock_path, info_path = _paths(shard)
    scratch = info_path.with_suffix(".tmp")
    scratch.write_text(json.dumps({"pid": os.getpid(), "component": component, "url": url}))
    os.replace(scratch, info_path)


def release(shard: Path) -> None:
    """Give up one claim of `shard`; the last one unlocks it."""
    lock_path, info_path = _paths(shard)
    with _LOCK:
        held = _HELD.get(lock_path)
        if held is None:
            return
        handle, count = held
        if count > 1:
            _HELD[lock_path] = (handle, count - 1)
            return
        del _HELD[lock_path]
        info_path.unlink(missing_ok=True)
        fcntl.flock(handle, fcntl.LOCK_UN)
        handle.close()


__all__ = ["OwnerInfo", "claim", "current_owner", "describe", "release"]
