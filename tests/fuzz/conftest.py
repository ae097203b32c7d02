"""Hypothesis profiles and case counts of the fuzz tests.

`ci` (the default) runs 60 cases per property so `make test` stays quick; `long` (`HYPOTHESIS_PROFILE=long`,
`make fuzz`) runs 10,000 per codec property, 150,000 over the fifteen. `HYPOTHESIS_MAX_EXAMPLES` overrides
either. Every property counts the cases it ran (`cases.count(name)`); the session prints the counts and writes them
to `$MEMLANE_FUZZ_COUNTS` (default /tmp/memlane-fuzz-counts.json).
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from cases import CASES
from hypothesis import HealthCheck, settings

COUNTS_PATH = Path(os.environ.get("MEMLANE_FUZZ_COUNTS", "/tmp/memlane-fuzz-counts.json"))
_slow = [HealthCheck.too_slow, HealthCheck.filter_too_much, HealthCheck.data_too_large]
_override = os.environ.get("HYPOTHESIS_MAX_EXAMPLES")

settings.register_profile("ci", max_examples=int(_override or 60), deadline=None, database=None, derandomize=True)
settings.register_profile(
    "long", max_examples=int(_override or 10_000), deadline=None, suppress_health_check=_slow, database=None
)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))


@pytest.fixture(scope="session", autouse=True)
def fuzz_counts() -> Iterator[None]:
    yield
    if not CASES:
        return
    profile = os.environ.get("HYPOTHESIS_PROFILE", "ci")
    total = sum(CASES.values())
    print(f"\n\nfuzz cases run (profile {profile}): {total:,}")
    for name, cases in sorted(CASES.items()):
        print(f"  {name:<60} {cases:>9,}")
    COUNTS_PATH.write_text(json.dumps({"profile": profile, "total": total, "cases": dict(CASES)}, indent=2) + "\n")
