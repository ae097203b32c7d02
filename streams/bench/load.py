"""Load for whole-pipeline runs: endless conversations, and a publisher that sends them at a fixed rate.

    turns = conversation_turns(tenant_id="acme")          # the demo conversation, copy after copy
    with RatePublisher(settings, turns, rate_per_s=20) as load:
        ...                                               # the pipeline runs, faults happen
        load.stop()
    load.summary                                          # sent, delivered, failed (PublishSummary)

The turns are the demo conversation (`streams.demo`: facts, decisions, next steps, an error report, small
talk) replayed as conversations `load-0`, `load-1`, ... with event ids of their own, interleaved so that
several conversations are open at once, as on a platform. The publisher sends turn i at i / rate seconds
after it started, from a thread of its own, through the real `TurnPublisher` (idempotent, acks=all).
"""

from __future__ import annotations

import itertools
import threading
import time
from collections.abc import Iterable, Iterator
from types import TracebackType
from typing import Self

from schemas.events import ConversationTurn
from streams.demo import DEMO_CONVERSATION
from streams.ingest.publisher import PublishSummary
from streams.ingest.turn_files import InputFormat, load_turns
from streams.settings import Settings
from streams.wiring.stores import blob_store, publisher


def conversation_turns(*, tenant_id: str, open_at_once: int = 6, prefix: str = "load") -> Iterator[ConversationTurn]:
    """Copies of the demo conversation, `open_at_once` of them interleaved turn by turn, without end."""
    template, _errors = load_turns(DEMO_CONVERSATION, InputFormat.LOCOMO, tenant_id=tenant_id)
    for first in itertools.count(0, open_at_once):
        copies = [
            [
                turn.model_copy(update={"conversation_id": f"{prefix}-{n}", "event_id": f"{prefix}-{n}-{i}"})
                for i, turn in enumerate(template)
            ]
            for n in range(first, first + open_at_once)
        ]
        for row in itertools.zip_longest(*copies):
            yield from (turn for turn in row if turn is not None)


class RatePublisher:
    """Publishes `turns` at `rate_per_s` from a background thread until they run out or `stop()`."""

    def __init__(
        self, settings: Settings, turns: Iterable[ConversationTurn], *, rate_per_s: float, limit: int | None = None
    ) -> None:
        if rate_per_s <= 0:
            raise ValueError(f"rate_per_s must be > 0, got {rate_per_s}")
        self.settings = settings
        self.turns = iter(turns) if limit is None else itertools.islice(turns, limit)
        self.rate_per_s = rate_per_s
        self.summary = PublishSummary()
        self.error: BaseException | None = None
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="memlane-rate-publisher")

    @property
    def sent(self) -> int:
        return self.summary.sent

    def start(self) -> Self:
        """Start sending (once; a second call does nothing)."""
        if self._thread.ident is None:
            self._thread.start()
        return self

    def _run(self) -> None:
        try:
            with blob_store(self.settings) as blobs, publisher(self.settings, blobs) as turns:
                began = time.monotonic()
                for n, turn in enumerate(self.turns):
                    if self._stop.wait(max(0.0, began + n / self.rate_per_s - time.monotonic())):
                        break
                    turns.publish(turn)
                    turns.poll(0)
                    self.summary = turns.summary
                self.summary = turns.close()
        except BaseException as exc:  # the caller sees it in `error` and from `stop()`
            self.error = exc

    def wait(self, timeout_s: float | None = None) -> PublishSummary:
        """Wait until every turn was sent and flushed; the summary."""
        self._thread.join(timeout_s)
        if self._thread.is_alive():
            raise TimeoutError(f"the publisher still runs after {timeout_s}s")
        if self.error is not None:
            raise self.error
        return self.summary

    def stop(self) -> PublishSummary:
        """Stop sending, flush what was sent; the summary."""
        self._stop.set()
        return self.wait()

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self._stop.set()
        self._thread.join()


__all__ = ["RatePublisher", "conversation_turns"]
