"""Shared test fixtures: where the evaluation data lives, and guards against leaked threads."""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]


def shared_data_dir() -> Path:
    """`MEMLANE_DATA_DIR`, or `../shared/data` beside the repository."""
    env = os.environ.get("MEMLANE_DATA_DIR")
    return Path(env) if env else REPO_ROOT.parent / "shared" / "data"


@pytest.fixture(scope="session")
def data_dir() -> Path:
    path = shared_data_dir()
    if not path.exists():
        pytest.fail(f"evaluation data not found at {path}; set MEMLANE_DATA_DIR")
    return path


@pytest.fixture(scope="session")
def locomo_path(data_dir: Path) -> Path:
    return data_dir / "locomo" / "locomo_dev5.json"


@pytest.fixture(autouse=True)
def no_leaked_threads(request: pytest.FixtureRequest) -> Iterator[None]:
    """Fail a test that leaves non-daemon threads running (servers, consumers not closed)."""
    before = {t.ident for t in threading.enumerate()}
    yield
    if request.node.get_closest_marker("allow_thread_leak"):
        return
    deadline = time.monotonic() + 5.0
    while True:
        leaked = [t for t in threading.enumerate() if t.ident not in before and t.is_alive() and not t.daemon]
        if not leaked or time.monotonic() > deadline:
            break
        time.sleep(0.05)
    assert not leaked, f"test leaked threads: {[t.name for t in leaked]}"
