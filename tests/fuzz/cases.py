"""How many cases each fuzz property ran: `count(name)` per case, printed and saved by `conftest.py`."""

from __future__ import annotations

from collections import Counter

CASES: Counter[str] = Counter()

API_EXAMPLES = {"ci": 40, "long": 2_000}
"""Generated requests per API operation and key kind (schemathesis), per hypothesis profile."""


def count(name: str) -> None:
    CASES[name] += 1


__all__ = ["API_EXAMPLES", "CASES", "count"]
