"""The cost baseline of `memlane bench cost`: Claude extracts every 3 turns, the conversation so far as context.

What a pipeline without local models, filters or a fallback would pay: each conversation is cut into windows
of `EVERY` turns in turn order, and each window is one call of our `ClaudeExtractor` (the real `anthropic`
client, our system prompt, the `record_memories` tool, the same price table) whose prompt shows the window's
turns and, as the request's context blob, every earlier turn of the conversation (`speaker: text`, one a
line). The blob is pulled into the prompt in full: the governor's limits are raised to Claude's context
(`CLAUDE_CONTEXT_TOKENS`); when the conversation so far would not fit, its oldest turns are left out until
the estimate (characters / `chars_per_token`, the extractor's own estimate) fits, and the call is counted as
capped. The calls go to whatever server `base_url` names; the benchmark gives it the pipeline's fake Claude,
so both arms are counted by the same tokenizer. The baseline has no daily budget: it would not be one.
"""

from __future__ import annotations

import hashlib
import json
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field

from processors.emitted import extraction_request, window_turn
from processors.extraction import DailyBudget, usage_of
from processors.extraction.claude_extractor import ClaudeExtractor
from processors.extraction.extraction_settings import ExtractionSettings
from processors.extraction.governor import TURN_OVERHEAD_TOKENS, TokenGovernor, chars_to_tokens
from processors.extraction.prompt import SYSTEM_PROMPT
from processors.extraction.result import result_json_schema
from processors.priority import PriorityClass, Score
from processors.stage_settings import ProcessorSettings
from processors.state import ConversationState
from processors.tokens import turn_text, turn_tokens
from schemas.errors import ExtractionError
from schemas.events import BlobRef, ConversationTurn, ExtractionRequest, UsageRecord
from sinks.blobstore.slices import BlobSlice, slice_bytes

EVERY = 3
CLAUDE_CONTEXT_TOKENS = 200_000
CONTEXT_HEADING = "The conversation so far, before this window (context only):"


class HeldBlobs:
    """The context blobs of the calls in flight, in memory (a `BlobReader` for the token governor)."""

    def __init__(self) -> None:
        self._data: dict[str, bytes] = {}

    def hold(self, text: str) -> BlobRef:
        data = text.encode("utf-8")
        sha = hashlib.sha256(data).hexdigest()
        self._data[sha] = data
        return BlobRef(sha256=sha, size_bytes=len(data))

    def release(self, ref: BlobRef) -> None:
        self._data.pop(ref.sha256, None)

    def slice_bytes(self, sha256: str, start: int, end: int | None = None) -> BlobSlice:
        return slice_bytes(sha256, self._data[sha256], start, end)


@dataclass
class BaselineRun:
    """The baseline's calls: every usage record, how many prompts were capped, and failed extractions."""

    usage: list[UsageRecord] = field(default_factory=list)
    calls: int = 0
    capped: int = 0
    failed: int = 0


def context_line(turn: ConversationTurn) -> str:
    return f"{turn.speaker or turn.user_id}: {turn_text(turn)}"


def _conversations(turns: Sequence[ConversationTurn]) -> dict[str, list[ConversationTurn]]:
    grouped: dict[str, list[ConversationTurn]] = {}
    for turn in turns:
        grouped.setdefault(turn.conversation_id, []).append(turn)
    return {cid: sorted(group, key=lambda t: t.turn_index) for cid, group in grouped.items()}


def baseline_windows(
    turns: Sequence[ConversationTurn], prompt_tokens: int, chars_per_token: float
) -> Iterator[tuple[ExtractionRequest, str, bool]]:
    """Each window of `EVERY` turns as a request, the text of the conversation before it, and whether that
    text lacks the oldest turns (left out for the window and it to stay within `prompt_tokens`, estimated)."""
    settings, neutral = ProcessorSettings(), Score(PriorityClass.FACT, 0.5, ())
    for group in _conversations(turns).values():
        state = ConversationState(group[0].conversation_id, group[0].tenant_id, group[0].user_id)
        earlier: deque[str] = deque()
        chars = 0
        for start in range(0, len(group), EVERY):
            chunk = [window_turn(t, turn_text(t), turn_tokens(t), neutral) for t in group[start : start + EVERY]]
            request = extraction_request(state, chunk, trigger="baseline", now=chunk[-1].event_time, settings=settings)
            window = sum(chars_to_tokens(t.content or "", chars_per_token) for t in chunk)
            room = prompt_tokens - window - TURN_OVERHEAD_TOKENS * (len(chunk) + 1)
            while earlier and chars > room * chars_per_token:
                chars -= len(earlier.popleft()) + 1
            context = "\n".join((CONTEXT_HEADING, *earlier)) if earlier else ""
            yield request, context, len(earlier) < start
            for turn in group[start : start + EVERY]:
                line = context_line(turn)
                earlier.append(line)
                chars += len(line) + 1


def run_baseline(
    turns: Sequence[ConversationTurn],
    settings: ExtractionSettings,
    *,
    api_key: str,
    base_url: str | None,
    with_context: bool = True,
    advance: Callable[[], None] = lambda: None,
) -> BaselineRun:
    """Send every baseline window to Claude at `base_url` through `ClaudeExtractor`; its usage records.

    `with_context=False` sends the windows alone (what the context costs is the difference)."""
    blobs = HeldBlobs()
    fixed = chars_to_tokens(SYSTEM_PROMPT + json.dumps(result_json_schema()), settings.chars_per_token)
    prompt_tokens = CLAUDE_CONTEXT_TOKENS - settings.claude_max_tokens - fixed if with_context else 0
    governor = TokenGovernor(
        blobs,
        warn_tokens=CLAUDE_CONTEXT_TOKENS,
        pointer_tokens=CLAUDE_CONTEXT_TOKENS,
        chars_per_token=settings.chars_per_token,
    )
    claude = ClaudeExtractor(settings, api_key=api_key, base_url=base_url, budget=DailyBudget(None), governor=governor)
    run = BaselineRun()
    try:
        for request, context, capped in baseline_windows(turns, prompt_tokens, settings.chars_per_token):
            ref = blobs.hold(context) if context else None
            asked = request.model_copy(update={"context_refs": (ref,)}) if ref else request
            try:
                run.usage.extend(claude.extract(asked).usage)
            except ExtractionError as failure:
                run.usage.extend(usage_of(failure))
                run.failed += 1
            finally:
                if ref is not None:
                    blobs.release(ref)
            run.calls += 1
            run.capped += capped and with_context
            advance()
    finally:
        claude.close()
    return run


def window_count(turns: Sequence[ConversationTurn]) -> int:
    """How many calls the baseline makes for `turns`."""
    return sum(-(-len(group) // EVERY) for group in _conversations(turns).values())


__all__ = [
    "CLAUDE_CONTEXT_TOKENS",
    "EVERY",
    "BaselineRun",
    "HeldBlobs",
    "baseline_windows",
    "context_line",
    "run_baseline",
    "window_count",
]
