"""Fault injection for processors-worker tests: a slow changelog producer, as on an overloaded host.

Put this directory on a worker's PYTHONPATH. `TEST_FAULT_FAIL_CONVERSATION=<id>` makes every turn of that
conversation raise in the stages (a bug its data triggers). `TEST_FAULT_SLOW_CHANGELOG_S`: every record Faust
queues in its producer buffer (the table changelog goes through it; our outputs do not) waits that long
before it is handed to the Kafka client. Faust's pre-commit flush gives up after 0.1 s without progress,
so this opens the window in which offsets could be committed ahead of the state changelog.
"""

from __future__ import annotations

import asyncio
import os

_DELAY_S = float(os.environ.get("TEST_FAULT_SLOW_CHANGELOG_S") or 0)

if _DELAY_S > 0:
    from faust.transport.producer import ProducerBuffer

    _send_pending = ProducerBuffer._send_pending

    async def _slow_send_pending(self: ProducerBuffer, fut: object) -> None:
        await asyncio.sleep(_DELAY_S)
        await _send_pending(self, fut)

    ProducerBuffer._send_pending = _slow_send_pending  # type: ignore[method-assign]

_FAIL_CONVERSATION = os.environ.get("TEST_FAULT_FAIL_CONVERSATION") or ""

if _FAIL_CONVERSATION:
    from processors.pipeline import TurnProcessor

    _process = TurnProcessor.process

    def _failing_process(self, state, turn, source_partition=None, source_offset=None):  # type: ignore[no-untyped-def]
        """A bug triggered by one conversation's data: every turn of it raises."""
        if turn.conversation_id == _FAIL_CONVERSATION:
            raise ArithmeticError(f"injected fault for {_FAIL_CONVERSATION}")
        return _process(self, state, turn, source_partition, source_offset)

    TurnProcessor.process = _failing_process  # type: ignore[method-assign]
