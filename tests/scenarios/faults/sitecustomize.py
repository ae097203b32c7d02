"""Fault injection for scenario workers: put this directory on a child's PYTHONPATH.

`TEST_FAULT_STORE_FAIL_FILE=<path>`: while that file exists, every write of the embedded memory store fails
the way the engine fails (`SinkError` from qdrant-edge); the test creates and removes the file.
`TEST_FAULT_DISK_FREE_FILE=<path>`: while that file exists, the filesystem reports the number of MB it holds
as free space (a full disk where the test may not mount a tiny filesystem).
"""

from __future__ import annotations

import os
from pathlib import Path

_STORE_FAIL = os.environ.get("TEST_FAULT_STORE_FAIL_FILE") or ""

if _STORE_FAIL:
    from schemas.errors import SinkError
    from sinks.memory_store.edge import EdgeMemoryStore

    _write = EdgeMemoryStore._write

    def _failing_write(self, points):  # type: ignore[no-untyped-def]
        if Path(_STORE_FAIL).exists():
            raise SinkError("qdrant-edge upsert failed: Service internal error: injected engine fault")
        return _write(self, points)

    EdgeMemoryStore._write = _failing_write  # type: ignore[method-assign]

_DISK_FREE = os.environ.get("TEST_FAULT_DISK_FREE_FILE") or ""

if _DISK_FREE:
    import shutil

    _disk_usage = shutil.disk_usage

    def _reported_usage(path):  # type: ignore[no-untyped-def]
        usage = _disk_usage(path)
        try:
            free = int(float(Path(_DISK_FREE).read_text()) * 2**20)
        except (OSError, ValueError):
            return usage
        return type(usage)(usage.total, usage.total - free, free)

    shutil.disk_usage = _reported_usage
