"""`GuardedStore`: a memory store shared by the threads of one process, that gives its shard back on close.

`memlane serve` runs the memory sink and the search service over one embedded shard: every call (and
every step of an iterator a call returns) takes one re-entrant lock, so a search waits at most for the
sink's current write and never interleaves with it inside the engine. Closing releases what the store
was opened with (the ownership claim of `shard_owner`, or the temporary copy of a snapshot).
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Callable, Iterator
from types import TracebackType
from typing import Any


class GuardedStore:
    """Forwards every attribute of `inner`; calls run under one lock; `on_close` runs once after `close()`."""

    def __init__(self, inner: Any, *, on_close: Callable[[], None] = lambda: None) -> None:
        self._inner = inner
        self._lock = threading.RLock()
        self._on_close = on_close
        self._closed = False

    @property
    def inner(self) -> Any:
        return self._inner

    def _iterate(self, items: Iterator[Any]) -> Iterator[Any]:
        while True:
            with self._lock:
                try:
                    item = next(items)
                except StopIteration:
                    return
            yield item

    def __getattr__(self, name: str) -> Any:
        attribute = getattr(self._inner, name)
        if not callable(attribute):
            return attribute

        @functools.wraps(attribute)
        def guarded(*args: Any, **kwargs: Any) -> Any:
            with self._lock:
                result = attribute(*args, **kwargs)
            if isinstance(result, Iterator):
                return self._iterate(result)
            return result

        return guarded

    def close(self) -> None:
        with self._lock:
            if self._closed:
                return
            self._closed = True
            try:
                self._inner.close()
            finally:
                self._on_close()

    def __enter__(self) -> GuardedStore:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()


__all__ = ["GuardedStore"]
