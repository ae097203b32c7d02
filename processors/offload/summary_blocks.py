"""The open level-2 block of a conversation: which windows' level-1 summaries it holds, and when it closes.

Block b of a conversation covers turn indexes `b*size .. (b+1)*size - 1`. Each window (an extract request's
turn range) adds its level-1 summary to every open block it overlaps; a window whose last index reaches a
block's end closes that block (windows come in turn order per conversation, and skipped turns never appear
in one), and the closed block's level-2 request is built from the summaries of the windows covering it.
A redelivered window is recognised by its turn range (replaced, not added twice); a window wholly before
the open block is late and changes nothing. `BlockState` round-trips through JSON: the summarise worker
keeps it in the compacted topic `memlane.summary.blocks.v1`, keyed like the requests.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime

from processors.offload.summaries import block_request_id
from schemas.events import ExtractionRequest, Role, WindowTurn


@dataclass(frozen=True)
class WindowSummary:
    """A window's level-1 summary as a block keeps it."""

    first: int
    last: int
    text: str
    users: tuple[str, ...]
    indexes: tuple[int, ...]
    event_time_ms: int


@dataclass
class BlockState:
    """One conversation's open block: the next block to close and the summaries of windows touching it."""

    tenant_id: str
    conversation_id: str
    user_id: str
    next_block: int = 0
    windows: list[WindowSummary] = field(default_factory=list)

    def to_json(self) -> bytes:
        return json.dumps(asdict(self), separators=(",", ":"), sort_keys=True).encode("utf-8")

    @classmethod
    def from_json(cls, raw: bytes) -> BlockState:
        data = json.loads(raw)
        windows = [
            WindowSummary(
                first=int(w["first"]),
                last=int(w["last"]),
                text=str(w["text"]),
                users=tuple(w["users"]),
                indexes=tuple(int(i) for i in w["indexes"]),
                event_time_ms=int(w["event_time_ms"]),
            )
            for w in data.get("windows", ())
        ]
        return cls(
            tenant_id=str(data["tenant_id"]),
            conversation_id=str(data["conversation_id"]),
            user_id=str(data["user_id"]),
            next_block=int(data.get("next_block", 0)),
            windows=windows,
        )


@dataclass(frozen=True)
class ClosedBlock:
    """A block that closed: its number, range and the summaries of the windows covering it."""

    block: int
    first: int
    last: int
    windows: tuple[WindowSummary, ...]


def advance(state: BlockState, first: int, last: int, summary: WindowSummary | None, size: int) -> list[ClosedBlock]:
    """Record window `first..last` (its summary, or None when it has none) and return the blocks it closes.

    A window wholly before the open block is late: nothing changes. Idempotent for a redelivered window."""
    if last < state.next_block * size:
        return []
    if summary is not None:
        state.windows = [w for w in state.windows if (w.first, w.last) != (first, last)]
        state.windows.append(summary)
        state.windows.sort(key=lambda w: (w.first, w.last))
    closed: list[ClosedBlock] = []
    block = state.next_block
    while (block + 1) * size - 1 <= last:
        start, end = block * size, (block + 1) * size - 1
        covering = tuple(w for w in state.windows if w.first <= end and w.last >= start)
        if covering:
            closed.append(ClosedBlock(block, start, end, covering))
        block += 1
    if block != state.next_block:
        state.next_block = block
        state.windows = [w for w in state.windows if w.last >= state.next_block * size]
    return closed


def block_request(state: BlockState, closed: ClosedBlock, template: ExtractionRequest) -> ExtractionRequest:
    """The level-2 summary request of a closed block: one turn per covering window (its level-1 summary)."""
    turns = tuple(
        WindowTurn(
            event_id=f"summary1:{w.first}-{w.last}",
            turn_index=w.last,
            role=Role.SYSTEM,
            speaker=f"turns {w.first}..{w.last}",
            user_id=None,
            content=w.text,
            token_count=max(1, len(w.text) // 4),
            event_time=datetime.fromtimestamp(w.event_time_ms / 1000, UTC),
        )
        for w in closed.windows
    )
    return template.model_copy(
        update={
            "request_id": block_request_id(state.tenant_id, state.conversation_id, closed.block),
            "task": "summary",
            "summary_level": 2,
            "first_turn_index": closed.first,
            "last_turn_index": closed.last,
            "turns": turns,
            "context_refs": (),
            "token_count": sum(t.token_count for t in turns),
            "trigger": "summary_block",
            "route": "complex",
        }
    )


def block_users(closed: ClosedBlock) -> tuple[str, ...]:
    """Every speaker of the windows a block's summary covers."""
    return tuple(sorted({user for w in closed.windows for user in w.users}))


def block_indexes(closed: ClosedBlock) -> tuple[int, ...]:
    """The turn indexes of the block its covering windows hold."""
    return tuple(sorted({i for w in closed.windows for i in w.indexes if closed.first <= i <= closed.last}))


__all__ = [
    "BlockState",
    "ClosedBlock",
    "WindowSummary",
    "advance",
    "block_indexes",
    "block_request",
    "block_users",
]
