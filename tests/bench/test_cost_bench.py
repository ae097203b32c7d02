"""The cost benchmark's baseline: windows of 3 turns with the conversation so far as context."""

from __future__ import annotations

from pathlib import Path

from streams.bench.cost_baseline import CONTEXT_HEADING, baseline_windows, context_line
from streams.ingest.turn_files import InputFormat, load_turns


def test_baseline_windows_carry_the_conversation_so_far(locomo_path: Path) -> None:
    turns, _ = load_turns(locomo_path, InputFormat.LOCOMO, tenant_id="cost", conversations=["conv-26"])
    windows = list(baseline_windows(turns[:10], prompt_tokens=100_000, chars_per_token=4.0))
    assert [len(request.turns) for request, _, _ in windows] == [3, 3, 3, 1]
    assert windows[0][1] == "", "the first window has no conversation before it"
    last_request, last_context, capped = windows[-1]
    assert last_context == "\n".join((CONTEXT_HEADING, *(context_line(turn) for turn in turns[:9])))
    assert last_request.turns[0].turn_index == turns[9].turn_index and not capped
    tight = list(baseline_windows(turns[:10], prompt_tokens=200, chars_per_token=4.0))
    assert tight[-1][2] and len(tight[-1][1]) <= len(last_context), "the oldest turns go first when it does not fit"
