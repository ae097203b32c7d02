"""Scenarios: hostile and faulty conditions on the real broker, each ending with the accounting verifier.

Run them alone with `bash tests/scenarios/run` (or `pytest tests/scenarios -s`); each prints its figures, and
the session ends with a table of them all.
"""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
from scenario_support import RESULTS


@pytest.fixture(scope="session", autouse=True)
def scenario_table() -> Iterator[None]:
    RESULTS.unlink(missing_ok=True)
    yield
    if not RESULTS.exists():
        return
    rows = [json.loads(line) for line in RESULTS.read_text().splitlines() if line.strip()]
    print("\n\nscenario results")
    for row in rows:
        name = row.pop("scenario")
        print(f"  {name:<48} " + ", ".join(f"{k}={v}" for k, v in row.items()))
