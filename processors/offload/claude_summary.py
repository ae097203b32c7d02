"""The level-3 summary by Claude: what the fallback worker asks when the local model could not compact a
conversation (the request reached the DLQ). One forced `record_summary` tool call through
`ClaudeExtractor.call_tool`: the same client, backoff, daily budget (`DailyBudget`) and usage records as
extraction; the answer is checked and cut to the level's budget like the local one."""

from __future__ import annotations

from anthropic.types import ToolParam

from processors.extraction.claude_extractor import ClaudeExtractor
from processors.extraction.contract import ErrorClass, extraction_failure
from processors.offload.summaries import (
    CHARS_PER_TOKEN_BOUND,
    CLAUDE_SUMMARISER,
    SYSTEM_PROMPTS,
    SummaryOutcome,
    cut_to_tokens,
    level_tokens,
    summary_messages,
    summary_schema,
)
from processors.offload.summary_settings import SummarySettings
from schemas.events import ExtractionRequest

TOOL_NAME = "record_summary"


def summary_tool(max_chars: int) -> ToolParam:
    """The tool Claude is made to call: its input is `{"summary": "..."}`."""
    return {
        "name": TOOL_NAME,
        "description": "Record the summary of the conversation.",
        "input_schema": summary_schema(max_chars),
    }


class ClaudeSummariser:
    """Writes summaries (level 3 in practice) with Claude under the fallback's daily budget. Thread-safe."""

    def __init__(self, claude: ClaudeExtractor, settings: SummarySettings) -> None:
        self.claude = claude
        self.settings = settings

    def summarise(self, request: ExtractionRequest) -> SummaryOutcome:
        level = request.summary_level or 3
        budget = level_tokens(self.settings, level)
        messages = summary_messages(request, self.settings.prompt_chars)
        answer, usage = self.claude.call_tool(
            request,
            system=SYSTEM_PROMPTS[level],
            content=messages[-1]["content"],
            tool=summary_tool(budget * CHARS_PER_TOKEN_BOUND),
            max_tokens=self.settings.claude_max_tokens,
        )
        text = answer.get("summary")
        if not isinstance(text, str) or not text.strip():
            failure = extraction_failure("no non-blank 'summary' string", error_class=ErrorClass.SCHEMA_VIOLATION)
            failure.usage = usage
            raise failure
        flat = " ".join(text.split())
        within = cut_to_tokens(flat, budget)
        return SummaryOutcome(within, self.claude.settings.claude_model, CLAUDE_SUMMARISER, usage, cut=within != flat)


__all__ = ["TOOL_NAME", "ClaudeSummariser", "summary_tool"]
