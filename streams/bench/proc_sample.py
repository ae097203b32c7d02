"""Resident memory and open file descriptors of a process, for the soak: psutil when installed, else /proc.

sample = process_sample(pid)     # ProcessSample(rss_mb=..., open_fds=...), or None once it is gone
"""

from __future__ import annotations

import importlib
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

_PAGE_BYTES = os.sysconf("SC_PAGE_SIZE") if hasattr(os, "sysconf") else 4096
_MB = 1024 * 1024


@dataclass(frozen=True)
class ProcessSample:
    rss_mb: float
    open_fds: int


def _psutil() -> Any | None:
    try:
        return importlib.import_module("psutil")
    except ImportError:
        return None


def _from_psutil(psutil: Any, pid: int) -> ProcessSample | None:
    try:
        process = psutil.Process(pid)
        return ProcessSample(rss_mb=process.memory_info().rss / _MB, open_fds=process.num_fds())
    except (psutil.NoSuchProcess, psutil.ZombieProcess, psutil.AccessDenied):
        return None


def _from_proc(pid: int) -> ProcessSample | None:
    base = Path(f"/proc/{pid}")
    try:
        resident_pages = int((base / "statm").read_text().split()[1])
        fds = sum(1 for _ in (base / "fd").iterdir())
    except (OSError, IndexError, ValueError):
        return None
    return ProcessSample(rss_mb=resident_pages * _PAGE_BYTES / _MB, open_fds=fds)


def process_sample(pid: int) -> ProcessSample | None:
    """RSS (MiB) and open descriptors of `pid` now; None when it is gone or cannot be read."""
    psutil = _psutil()
    return _from_psutil(psutil, pid) if psutil is not None else _from_proc(pid)


__all__ = ["ProcessSample", "process_sample"]
