"""`memlane bench summaries`: hierarchical summaries of one LoCoMo dev conversation: how many per level and what
they cost (local tokens per level, Claude tokens for a level-3 compaction).

Input: the first sample of `locomo/locomo_dev5.json` under `MEMLANE_DATA_DIR` (or the file `--data`
names), cut into windows of `WINDOW_TURNS` consecutive turns, each one level-1 summary (as if the
processors forwarded every turn: a real run forwards fewer). Windows advance the level-2 blocks exactly
as the summarise worker does (`processors.offload.summary_blocks`); the compaction is planned from the
level-2 summaries and the level-1 ones after the last of them (the rule of
`sinks.search.summaries_api.compaction_inputs`) and written twice, by the local summariser and by the
Claude fallback's, so both costs are measured.

Models: without `--ollama-url` the fake Ollama and fake Anthropic servers (`streams.testing`) answer, with an
extractive stand-in (the first words of each line shown, up to the level's budget). Their token counts are
whitespace words: the figures count calls and relative sizes honestly, not a real model's tokens or
quality. With `--ollama-url URL` the local levels are written by that server's `MEMLANE_SUMMARY__MODEL`
(default the extraction's fast model); Claude stays the fake. `--quick`: the first 60 turns.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from processors.extraction.claude_extractor import ClaudeExtractor
from processors.offload.claude_summary import ClaudeSummariser
from processors.offload.summaries import (
    CHARS_PER_TOKEN_BOUND,
    Summariser,
    SummaryOutcome,
    as_summary_request,
    covered_users,
)
from processors.offload.summary_blocks import BlockState, WindowSummary, advance, block_request
from processors.tokens import estimate_tokens
from schemas.errors import ExtractionError
from schemas.events import ExtractionRequest, Role, WindowTurn
from streams.bench.contract import BenchOptions, BenchReport
from streams.ingest.locomo import locomo_turns
from streams.testing.fake_anthropic import FakeAnthropicServer
from streams.testing.fake_ollama import FakeOllamaServer

WINDOW_TURNS = 5
QUICK_TURNS = 60
KEY = "bench-key"
_LINE = re.compile(r"^\[[^\]]+\] [^:]*: (.*)$", re.M)


def extractive(content: str, max_chars: int) -> str:
    """A stand-in summary: the first words of each line shown, within about a quarter of `max_chars`."""
    words_budget = max(8, max_chars // CHARS_PER_TOKEN_BOUND * 3 // 4)
    lines = _LINE.findall(content) or content.splitlines()[1:]
    per_line = max(4, words_budget // max(1, len(lines)))
    words: list[str] = []
    for line in lines:
        words.extend(line.split()[:per_line])
        if len(words) >= words_budget:
            break
    return " ".join(words[:words_budget]) or "nothing said"


def _fake_ollama(body: dict[str, Any]) -> str:
    budget = (int(body["options"]["num_predict"]) - 64) // 2  # the summariser asks budget * 2 + 64
    limit = budget * CHARS_PER_TOKEN_BOUND
    return json.dumps({"summary": extractive(body["messages"][-1]["content"], limit)})


def _fake_claude(body: dict[str, Any]) -> dict[str, Any]:
    limit = int(body["tools"][0]["input_schema"]["properties"]["summary"]["maxLength"])
    return {"summary": extractive(str(body["messages"][-1]["content"]), limit)}


def windows(options: BenchOptions) -> list[ExtractionRequest]:
    """The first LoCoMo dev sample as consecutive `WINDOW_TURNS`-turn extract requests."""
    path = options.data_path("locomo/locomo_dev5.json")
    first_sample: str | None = None
    turns: list[WindowTurn] = []
    conversation = ""
    for item in locomo_turns(path, tenant_id="bench"):
        first_sample = first_sample or item.sample_id
        if item.sample_id != first_sample:
            break
        t = item.turn
        conversation = t.conversation_id
        turns.append(
            WindowTurn(
                event_id=t.event_id,
                turn_index=t.turn_index,
                role=t.role,
                speaker=t.speaker,
                user_id=t.user_id,
                content=t.content,
                token_count=t.token_count,
                event_time=t.event_time,
            )
        )
    if options.quick:
        turns = turns[:QUICK_TURNS]
    out = []
    for start in range(0, len(turns), WINDOW_TURNS):
        part = tuple(turns[start : start + WINDOW_TURNS])
        out.append(
            ExtractionRequest(
                request_id=f"bench-{part[0].turn_index}-{part[-1].turn_index}",
                conversation_id=conversation,
                tenant_id="bench",
                user_id=part[0].user_id or "user",
                first_turn_index=part[0].turn_index,
                last_turn_index=part[-1].turn_index,
                turns=part,
                priority=0.5,
                priority_class="fact",
                trigger="turn_count",
                token_count=sum(t.token_count for t in part),
                created_at=datetime(2024, 1, 1, tzinfo=UTC),
            )
        )
    return out


Span = tuple[int, int, str]
"""A summary's first and last turn index and its text."""


def _compaction(request: ExtractionRequest, level2: list[Span], level1: list[Span]) -> ExtractionRequest:
    """The level-3 request: every level-2 summary, then the level-1 summaries after the last block."""
    covered = level2[-1][1] if level2 else -1
    inputs = [(f"turns {f}..{last}", f, last, text) for f, last, text in level2]
    inputs += [(f"turns {f}..{last}", f, last, text) for f, last, text in level1 if f > covered]
    turns = tuple(
        WindowTurn(
            event_id=f"s-{n}",
            turn_index=last,
            role=Role.SYSTEM,
            speaker=name,
            content=text,
            token_count=estimate_tokens(text),
            event_time=request.created_at,
        )
        for n, (name, _f, last, text) in enumerate(inputs)
    )
    return request.model_copy(
        update={
            "request_id": "bench-compaction",
            "task": "summary",
            "summary_level": 3,
            "first_turn_index": 0,
            "turns": turns,
            "token_count": sum(t.token_count for t in turns),
        }
    )


def _attempt(
    call: Callable[[ExtractionRequest], SummaryOutcome], request: ExtractionRequest, failures: dict[str, int]
) -> SummaryOutcome | None:
    """One local summary, or None with its failure counted per `level:error_class` (the worker's view)."""
    try:
        return call(request)
    except ExtractionError as error:
        key = f"{request.summary_level}:{error.error_class}"
        failures[key] = failures.get(key, 0) + 1
        return None


def _row(level: str, writer: str, outcomes: list[SummaryOutcome], seconds: float) -> dict[str, Any]:
    usage = [u for o in outcomes for u in o.usage]
    return {
        "level": level,
        "writer": writer,
        "summaries": len(outcomes),
        "tokens_in": sum(u.tokens_in for u in usage),
        "tokens_out": sum(u.tokens_out for u in usage),
        "summary_tokens_mean": round(sum(estimate_tokens(o.text) for o in outcomes) / len(outcomes), 1)
        if outcomes
        else 0.0,
        "cut": sum(o.cut for o in outcomes),
        "seconds": round(seconds, 3),
    }


def run(options: BenchOptions) -> BenchReport:
    """Summarise one LoCoMo conversation at levels 1, 2 and 3 (local and Claude); counts and tokens per level."""
    settings = options.settings
    summary = settings.summary
    requests = windows(options)
    if not requests:
        raise FileNotFoundError("no LoCoMo turns (MEMLANE_DATA_DIR or --data)")
    model = summary.model or settings.extraction.fast_model
    with (
        FakeOllamaServer([model], responder=_fake_ollama) as fake_ollama,
        FakeAnthropicServer(api_key=KEY, tool_responder=_fake_claude) as fake_claude,
    ):
        local = Summariser.connect(options.ollama_url or fake_ollama.url, model, summary)
        claude = ClaudeSummariser(ClaudeExtractor(settings.extraction, api_key=KEY, base_url=fake_claude.url), summary)
        try:
            state = BlockState("bench", requests[0].conversation_id, requests[0].user_id)
            failures: dict[str, int] = {}
            level1: list[SummaryOutcome] = []
            level2: list[SummaryOutcome] = []
            spans: list[Span] = []
            blocks: list[Span] = []
            started = time.perf_counter()
            l2_seconds = 0.0
            for request in requests:
                one = _attempt(local.summarise, as_summary_request(request, 1), failures)
                window: WindowSummary | None = None
                if one is not None:
                    level1.append(one)
                    spans.append((request.first_turn_index, request.last_turn_index, one.text))
                    window = WindowSummary(
                        request.first_turn_index,
                        request.last_turn_index,
                        one.text,
                        covered_users(request),
                        tuple(t.turn_index for t in request.turns),
                        int(request.turns[-1].event_time.timestamp() * 1000),
                    )
                size = summary.block_turns
                for closed in advance(state, request.first_turn_index, request.last_turn_index, window, size):
                    t0 = time.perf_counter()
                    written = _attempt(local.summarise, block_request(state, closed, request), failures)
                    l2_seconds += time.perf_counter() - t0
                    if written is None:
                        continue
                    level2.append(written)
                    blocks.append((closed.first, closed.last, written.text))
            l1_seconds = time.perf_counter() - started - l2_seconds
            compaction = _compaction(requests[-1], blocks, spans)
            t0 = time.perf_counter()
            local3 = _attempt(local.summarise, compaction, failures)
            local3_s = time.perf_counter() - t0
            t0 = time.perf_counter()
            claude3 = claude.summarise(compaction)
            claude3_s = time.perf_counter() - t0
        finally:
            local.close()
            claude.claude.close()
    writer = f"ollama {model}" + ("" if options.ollama_url else " (fake)")
    rows = [
        _row("1", writer, level1, l1_seconds),
        _row("2", writer, level2, l2_seconds),
        _row("3", writer, [local3] if local3 else [], local3_s),
        _row("3", f"claude {settings.extraction.claude_model} (fake)", [claude3], claude3_s),
    ]
    turn_tokens = sum(r.token_count for r in requests)
    local_tokens = sum(r["tokens_in"] + r["tokens_out"] for r in rows[:3])
    summary_out: dict[str, Any] = {
        "conversation": requests[0].conversation_id,
        "turns": sum(len(r.turns) for r in requests),
        "windows": len(requests),
        "turn_tokens": turn_tokens,
        "summaries_per_conversation": len(level1) + len(level2) + 1,
        "level1": len(level1),
        "level2": len(level2),
        "local_tokens": local_tokens,
        "local_tokens_per_level": {r["level"]: r["tokens_in"] + r["tokens_out"] for r in rows[:3]},
        "claude_tokens_level3": rows[3]["tokens_in"] + rows[3]["tokens_out"],
        "level3_tokens": estimate_tokens((local3 or claude3).text),
        "compaction_ratio": round(turn_tokens / max(1, estimate_tokens((local3 or claude3).text)), 1),
        "local_failures": failures,
        "models": "fake servers (word counts)" if not options.ollama_url else f"ollama at {options.ollama_url}",
    }
    notes = [
        f"windows of {WINDOW_TURNS} consecutive turns, every turn forwarded (the processors forward fewer)",
        (
            f"local levels by the real server at {options.ollama_url} (its own token counts); Claude is the fake"
            if options.ollama_url
            else "fake Ollama / fake Anthropic: token counts are whitespace words and the text an extractive "
            "stand-in; they measure how many calls and how much text flows per level, not a real model's tokens "
            "or quality"
        ),
        "Claude writes level 3 only when the local model failed (DLQ -> fallback); both are measured here",
    ]
    columns = ["level", "writer", "summaries", "tokens_in", "tokens_out", "summary_tokens_mean", "cut", "seconds"]
    return BenchReport(
        "summaries",
        columns=columns,
        rows=rows,
        summary=summary_out,
        notes=notes,
        title="Hierarchical summaries of one LoCoMo conversation",
    )


__all__ = ["WINDOW_TURNS", "extractive", "run", "windows"]
