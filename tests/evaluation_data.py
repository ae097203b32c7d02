"""Where the evaluation data lives, and what a test does without it.

The data (LoCoMo, SWE-agent trajectories, loghub) is not in the repository: it is read from
`MEMLANE_DATA_DIR` or `../shared/data`. Without it the tests that need it are skipped with the reason,
except where `MEMLANE_REQUIRE_DATA=1` (CI sets it), where a missing data dir fails the run.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import NoReturn

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]


def shared_data_dir() -> Path:
    """`MEMLANE_DATA_DIR`, or `../shared/data` beside the repository."""
    env = os.environ.get("MEMLANE_DATA_DIR")
    return Path(env) if env else REPO_ROOT.parent / "shared" / "data"


def data_missing(what: str) -> NoReturn:
    """Skips (or, with `MEMLANE_REQUIRE_DATA=1`, fails) the test: `what` was not found in the data dir."""
    message = f"evaluation data missing: {what} under {shared_data_dir()} (set MEMLANE_DATA_DIR)"
    if os.environ.get("MEMLANE_REQUIRE_DATA") == "1":
        pytest.fail(message)
    pytest.skip(message, allow_module_level=True)
