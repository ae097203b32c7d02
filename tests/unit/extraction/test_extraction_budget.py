"""The daily token budget of the Claude fallback."""

from __future__ import annotations

import threading
from datetime import date
from pathlib import Path

import pytest

from processors.extraction.budget import DailyBudget
from processors.extraction.contract import ExtractionError


class Today:
    def __init__(self) -> None:
        self.day = date(2025, 3, 1)

    def __call__(self) -> date:
        return self.day


def test_reservations_count_until_settled() -> None:
    budget = DailyBudget(1000, today=Today())
    held = budget.reserve(600)
    assert budget.remaining() == 400
    with pytest.raises(ExtractionError) as info:
        budget.reserve(500)
    assert info.value.error_class == "budget_exhausted"
    budget.settle(held, 250)
    assert (budget.spent(), budget.remaining()) == (250, 750)
    budget.reserve(750)


def test_a_new_utc_day_starts_fresh() -> None:
    today = Today()
    budget = DailyBudget(100, today=today)
    budget.settle(budget.reserve(100), 100)
    with pytest.raises(ExtractionError):
        budget.reserve(1)
    today.day = date(2025, 3, 2)
    assert budget.remaining() == 100
    budget.reserve(100)


def test_no_limit() -> None:
    budget = DailyBudget(None)
    assert budget.remaining() is None
    budget.settle(budget.reserve(10**12), 5)
    assert budget.spent() == 5


def test_spent_tokens_survive_a_restart(tmp_path: Path) -> None:
    path = tmp_path / "state" / "budget.json"
    today = Today()
    first = DailyBudget(1000, today=today, state_path=path)
    first.settle(first.reserve(500), 400)
    second = DailyBudget(1000, today=today, state_path=path)
    assert second.spent() == 400 and second.remaining() == 600


def test_parallel_reservations_never_overshoot() -> None:
    budget = DailyBudget(1000, today=Today())
    granted: list[int] = []
    lock = threading.Lock()

    def worker() -> None:
        for _ in range(50):
            try:
                budget.reserve(7)
            except ExtractionError:
                return
            with lock:
                granted.append(7)

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sum(granted) == 994  # 142 reservations of 7 fit in 1000
