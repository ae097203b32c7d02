"""The context a memory carries for keyword search: the turns just before its source turns, from its request.

A memory's text is short and says one thing; the question that should find it often uses the words of the
conversation around it ("the support group" two turns earlier, the name of who asked). `with_context` gives
each memory of an outcome `Memory.context`: the text of up to `turns_before` window turns just before its
first source turn, then the rest of its source turns' text when the memory's text is not all of it, each as
`speaker: text`, at most `max_chars` characters (the turns nearest the memory kept). The window of one
extraction request never spans an idle gap (`ProcessorSettings.idle_timeout_s` flushes it), so these are
turns of the same session. The memory store indexes `text + context` for BM25; the dense vector stays on the
memory's own text. Memories without source turns, or that already carry a context, are left as they are.
"""

from __future__ import annotations

from collections.abc import Sequence

from schemas.events import ExtractionRequest, Memory, WindowTurn

TURNS_BEFORE = 2
"""Window turns before the first source turn (2 was best of 0-4 on LoCoMo's tuning split)."""
MAX_CONTEXT_CHARS = 1200


def turn_line(turn: WindowTurn) -> str:
    """`speaker: text` of a window turn (an offloaded turn contributes its preview)."""
    text = turn.content if turn.content is not None else (turn.content_ref.preview if turn.content_ref else "")
    text = " ".join(text.split())
    who = turn.speaker or turn.role.value
    return f"{who}: {text}" if text else ""


def context_lines(
    memory: Memory, turns: Sequence[WindowTurn], *, turns_before: int = TURNS_BEFORE, max_chars: int = MAX_CONTEXT_CHARS
) -> list[str]:
    """The lines of `memory`'s context within the window `turns` (ordered by turn index), nearest last."""
    ids, indexes = set(memory.source_turn_ids), set(memory.source_turn_indexes)
    positions = [i for i, turn in enumerate(turns) if turn.event_id in ids or turn.turn_index in indexes]
    if not positions:
        return []
    first = positions[0]
    own = " ".join(memory.text.split()).casefold()
    lines = [turn_line(turn) for turn in turns[max(0, first - turns_before) : first]]
    for i in positions:
        line = turn_line(turns[i])
        if line and line.split(": ", 1)[-1].casefold() != own:
            lines.append(line)
    kept: list[str] = []
    room = max_chars
    for line in reversed([line for line in lines if line]):
        if len(line) > room:
            if room > 40:
                kept.append(line[-room:].split(" ", 1)[-1])
            break
        kept.append(line)
        room -= len(line) + 1
    return kept[::-1]


def with_context(
    request: ExtractionRequest,
    memories: Sequence[Memory],
    *,
    turns_before: int = TURNS_BEFORE,
    max_chars: int = MAX_CONTEXT_CHARS,
) -> tuple[Memory, ...]:
    """`memories` with `context` filled in from `request`'s window (see the module docstring)."""
    turns = sorted(request.turns, key=lambda turn: turn.turn_index)
    out = []
    for memory in memories:
        lines = (
            []
            if memory.context is not None
            else context_lines(memory, turns, turns_before=turns_before, max_chars=max_chars)
        )
        out.append(memory.model_copy(update={"context": "\n".join(lines)}) if lines else memory)
    return tuple(out)


__all__ = ["MAX_CONTEXT_CHARS", "TURNS_BEFORE", "context_lines", "turn_line", "with_context"]
