"""The processors' state table: a Faust table whose changelog writes can be awaited before offsets are acked.

Faust sends a table's changelog records through its producer buffer (`send_soon`) and, before committing
offsets, calls `producer.flush()`. In faust-streaming 0.15 that flush (`ProducerBuffer.flush_atmost`)
gives up as soon as 0.1 s pass without a buffered record being handed to the client, and the commit goes
ahead with changelog records still queued. A kill -9 in that gap leaves committed turn offsets past state
that never reached the changelog; a worker restoring from the changelog (a new host, a lost disk, or a
replayed changelog segment over the local store) then has turns that are neither in its state nor
redelivered. The test `tests/integration/processors/test_processor_worker_restart.py` reproduced it with a
slowed buffer and a restart on an empty data directory.

`ConfirmedTable` keeps the future of every changelog record it sends; `confirm_changelog()` waits until the
broker acknowledged all of them (raising if one failed). The agent calls it after writing a batch's
states and before acking the batch, so no acked offset can run ahead of its state in the changelog,
whatever Faust's commit path does.
"""

from __future__ import annotations

import asyncio
from typing import Any

import faust
from faust.types import FutureMessage


class ConfirmedTable(faust.Table[bytes, bytes]):
    """A `faust.Table` that remembers its unacknowledged changelog records."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._unconfirmed: list[FutureMessage] = []

    def send_changelog(self, *args: Any, **kwargs: Any) -> FutureMessage:
        future: FutureMessage = super().send_changelog(*args, **kwargs)
        self._unconfirmed.append(future)
        return future

    @property
    def unconfirmed(self) -> int:
        """Changelog records sent since the last `confirm_changelog()`."""
        return len(self._unconfirmed)

    async def confirm_changelog(self) -> None:
        """Waits until every changelog record sent so far was acknowledged by the broker."""
        pending, self._unconfirmed = self._unconfirmed, []
        if pending:
            await asyncio.gather(*pending)


def add_confirmed_table(app: faust.App, name: str, **options: Any) -> ConfirmedTable:
    """Creates the table and registers it with the app, as `app.Table()` does for Faust's own class."""
    table = ConfirmedTable(app, name=name, beacon=app.tables.beacon, **options)
    app.tables.add(table)
    return table


__all__ = ["ConfirmedTable", "add_confirmed_table"]
