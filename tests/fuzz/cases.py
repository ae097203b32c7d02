"""How many cases each fuzz property ran: `count(name)` per case, printed and saved by `conftest.py`."""

from __future__ import annotations

from collections import Counter

CASES: Counter[str] = Counter()


def count(name: str) -> None:
    CASES[name] += 1


__all__ = ["CASES", "count"]
