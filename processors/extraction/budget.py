"""The Claude fallback's daily token budget, keyed by UTC date.

Before a call the extractor reserves what the call may use at most (estimated input + `max_tokens`); a call
that does not fit fails as `budget_exhausted` without being made. After the call the reservation is settled
with the tokens Anthropic reports, so the budget never overshoots while calls run in parallel. A new UTC day
starts a fresh budget. With `state_path`, the spent totals survive restarts (a small JSON file written
atomically); without it the budget is per process. `limit=None` means no limit.
"""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path

from processors.extraction.contract import ErrorClass, extraction_failure


def _utc_today() -> date:
    return datetime.now(UTC).date()


@dataclass(frozen=True, slots=True)
class Reservation:
    day: date
    tokens: int


class DailyBudget:
    """Tokens spent per UTC day against `limit`; thread-safe."""

    def __init__(
        self,
        limit: int | None,
        *,
        today: Callable[[], date] = _utc_today,
        state_path: Path | None = None,
    ) -> None:
        self.limit = limit
        self._today = today
        self._path = state_path
        self._lock = threading.Lock()
        self._spent: dict[date, int] = {}
        self._reserved: dict[date, int] = {}
        if state_path is not None and state_path.exists():
            raw = json.loads(state_path.read_text(encoding="utf-8"))
            self._spent = {date.fromisoformat(day): int(tokens) for day, tokens in raw.items()}

    def spent(self, day: date | None = None) -> int:
        with self._lock:
            return self._spent.get(day or self._today(), 0)

    def remaining(self) -> int | None:
        """Tokens left today (reservations in flight count as used); None without a limit."""
        if self.limit is None:
            return None
        with self._lock:
            day = self._today()
            return max(0, self.limit - self._spent.get(day, 0) - self._reserved.get(day, 0))

    def reserve(self, tokens: int) -> Reservation:
        """Hold `tokens` for one call, or raise `budget_exhausted`."""
        with self._lock:
            day = self._today()
            used = self._spent.get(day, 0) + self._reserved.get(day, 0)
            if self.limit is not None and used + tokens > self.limit:
                raise extraction_failure(
                    f"daily Claude budget exhausted for {day.isoformat()}: {used} of {self.limit} "
                    f"tokens used, this call needs up to {tokens}",
                    error_class=ErrorClass.BUDGET_EXHAUSTED,
                )
            self._reserved[day] = self._reserved.get(day, 0) + tokens
            return Reservation(day, tokens)

    def settle(self, reservation: Reservation, used_tokens: int) -> None:
        """Replace the reservation by the tokens actually used (0 when the call failed unbilled)."""
        with self._lock:
            day = reservation.day
            self._reserved[day] = max(0, self._reserved.get(day, 0) - reservation.tokens)
            self._spent[day] = self._spent.get(day, 0) + max(0, used_tokens)
            for old in [d for d in self._spent if d < day]:
                del self._spent[old]
            self._save()

    def _save(self) -> None:
        if self._path is None:
            return
        self._path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self._path.with_suffix(self._path.suffix + ".tmp")
        tmp.write_text(json.dumps({d.isoformat(): n for d, n in self._spent.items()}), encoding="utf-8")
        os.replace(tmp, self._path)


__all__ = ["DailyBudget", "Reservation"]
