"""The Claude fallback extractor: structured output through a forced tool call, with backoff and a budget.

It drains the dead-letter topic. One `extract()` is: key check (`no_api_key`, no call) -> budget reservation
(`budget_exhausted`, no call) -> up to `backoff_attempts` calls of `messages.create` with the
`record_memories` tool (input schema = `ExtractionResult`'s JSON schema) and `tool_choice` forcing it ->
validation and the confidence policy shared with Ollama. The SDK's own retries are off (`max_retries=0`):
this loop retries `rate_limited`, `overloaded`, `server_error`, `timeout` and `connection_refused`, sleeping
what `retry-after-ms` / `retry-after` asks (giving up when that exceeds `backoff_max_s`, so the request stays
parked) or `min(backoff_max_s, backoff_base_s * 2**(n-1))` with equal jitter. Every attempt yields a
`UsageRecord`. This module is the one boundary with the `anthropic` library:

    401 / 402 / 403             auth_error          404     model_not_found
    429                         rate_limited        529     overloaded
    other 5xx                   server_error        other 4xx   bad_request
    APITimeoutError             timeout             APIConnectionError  connection_refused
"""

from __future__ import annotations

import email.utils
import json
import random
import time
from collections.abc import Callable, Mapping

try:
    import anthropic
    from anthropic.types import Message, MessageParam, ToolChoiceToolParam, ToolParam
except ImportError as exc:  # the `extraction` extra is not installed
    raise ImportError("the Claude extractor needs `anthropic`: pip install 'memlane[extraction]'") from exc

from processors.extraction.budget import DailyBudget
from processors.extraction.contract import (
    ErrorClass,
    ExtractionError,
    ExtractionOutcome,
    HealthProbe,
    HealthStatus,
    StaticHealth,
    extraction_failure,
)
from processors.extraction.extraction_settings import ExtractionSettings
from processors.extraction.governor import BlobReader, TokenGovernor, chars_to_tokens
from processors.extraction.policy import policy_of
from processors.extraction.pricing import PriceTable
from processors.extraction.prompt import SYSTEM_PROMPT, render_window
from processors.extraction.result import accept, parse_result, result_json_schema
from processors.extraction.usage import FAILURE, usage_record
from schemas.events import ExtractionRequest, UsageRecord

EXTRACTOR_NAME = "claude"
EXTRACTOR_VERSION = "1.0"
PROVIDER = "anthropic"
TOOL_NAME = "record_memories"


def retry_after_seconds(headers: Mapping[str, str], *, now: Callable[[], float] = time.time) -> float | None:
    """Seconds the server asks to wait: `retry-after-ms`, else `retry-after` (seconds or an HTTP date)."""
    millis = headers.get("retry-after-ms")
    if millis is not None:
        try:
            return max(0.0, float(millis) / 1000.0)
        except ValueError:
            pass
    value = headers.get("retry-after")
    if value is None:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        parsed = email.utils.parsedate_tz(value)
        return None if parsed is None else max(0.0, email.utils.mktime_tz(parsed) - now())


def translate_error(exc: anthropic.APIError) -> ExtractionError:
    """The `ExtractionError` for an error of the anthropic client (the caller chains `from exc`)."""
    if isinstance(exc, anthropic.APITimeoutError):
        return extraction_failure(f"Claude call timed out: {exc.message}", error_class=ErrorClass.TIMEOUT)
    if isinstance(exc, anthropic.APIConnectionError):
        return extraction_failure(f"cannot reach Claude: {exc.message}", error_class=ErrorClass.CONNECTION_REFUSED)
    if not isinstance(exc, anthropic.APIStatusError):
        return extraction_failure(f"malformed Claude response: {exc.message}", error_class=ErrorClass.SERVER_ERROR)
    status, detail = exc.status_code, exc.api_message or exc.message
    classes: dict[int, ErrorClass] = {
        401: ErrorClass.AUTH_ERROR,
        402: ErrorClass.AUTH_ERROR,
        403: ErrorClass.AUTH_ERROR,
        404: ErrorClass.MODEL_NOT_FOUND,
        429: ErrorClass.RATE_LIMITED,
        529: ErrorClass.OVERLOADED,
    }
    error_class = classes.get(status)
    if error_class is None and exc.type == "overloaded_error":
        error_class = ErrorClass.OVERLOADED
    if error_class is None:
        error_class = ErrorClass.SERVER_ERROR if status >= 500 else ErrorClass.BAD_REQUEST
    return extraction_failure(f"Claude answered {status}: {detail}", error_class=error_class)


def memory_tool() -> ToolParam:
    """The tool Claude is made to call; its input is an `ExtractionResult`."""
    return {
        "name": TOOL_NAME,
        "description": "Record the long-term memories extracted from the conversation window.",
        "input_schema": result_json_schema(),
    }


def tool_input(message: Message) -> dict[str, object]:
    """The input of the `record_memories` call in Claude's answer; `schema_violation` when there is none."""
    for block in message.content:
        if block.type == "tool_use" and block.name == TOOL_NAME:
            return block.input
    raise extraction_failure(
        f"Claude did not call {TOOL_NAME} (stop_reason={message.stop_reason})",
        error_class=ErrorClass.SCHEMA_VIOLATION,
    )


class ClaudeExtractor:
    """Extracts memories with Claude; safe to share between threads."""

    def __init__(
        self,
        settings: ExtractionSettings,
        *,
        api_key: str | None,
        base_url: str | None = None,
        budget: DailyBudget | None = None,
        governor: TokenGovernor | None = None,
        prices: PriceTable | None = None,
        sleep: Callable[[float], None] = time.sleep,
        rng: random.Random | None = None,
        clock: Callable[[], float] = time.perf_counter,
    ) -> None:
        self.settings = settings
        self._client = (
            anthropic.Anthropic(api_key=api_key, base_url=base_url, max_retries=0, timeout=settings.claude_timeout_s)
            if api_key
            else None
        )
        self.budget = budget or DailyBudget(settings.daily_token_budget)
        self.governor = governor or TokenGovernor.from_settings(settings, None)
        self.prices = prices or PriceTable(settings.prices, cloud_equivalent_model=settings.cloud_equivalent_model)
        self._sleep = sleep
        self._rng = rng or random.Random()
        self._clock = clock

    @classmethod
    def connect(
        cls,
        settings: ExtractionSettings,
        *,
        api_key: str | None,
        base_url: str | None = None,
        blobs: BlobReader | None = None,
        budget: DailyBudget | None = None,
    ) -> ClaudeExtractor:
        """The fallback extractor for Anthropic's API (or `base_url`), reading blobs through `blobs`."""
        governor = TokenGovernor.from_settings(settings, blobs)
        return cls(settings, api_key=api_key, base_url=base_url, budget=budget, governor=governor)

    @property
    def name(self) -> str:
        return EXTRACTOR_NAME

    def health(self) -> HealthProbe:
        """Healthy when a key is set and budget remains (Anthropic itself is judged by real calls)."""
        if self._client is None:
            return StaticHealth(HealthStatus(False, error="no Anthropic API key (MEMLANE_ANTHROPIC_API_KEY)"))
        remaining = self.budget.remaining()
        if remaining == 0:
            return StaticHealth(HealthStatus(False, error="daily Claude token budget spent"))
        return StaticHealth(HealthStatus(True, models=(self.settings.claude_model,)))

    def close(self) -> None:
        """Close the HTTP connections (the fallback consumer calls this on shutdown)."""
        if self._client is not None:
            self._client.close()

    def redriven(self) -> None:
        """Nothing to reset: every call is tried (with its own backoff)."""

    def backoff_delay(self, attempt: int) -> float:
        """Sleep after failed attempt `attempt` (1-based) when the server gave no retry-after."""
        ceiling = min(self.settings.backoff_max_s, self.settings.backoff_base_s * 2.0 ** (attempt - 1))
        return ceiling / 2.0 + self._rng.uniform(0.0, ceiling / 2.0)

    def extract(self, request: ExtractionRequest) -> ExtractionOutcome:
        if self._client is None:
            raise extraction_failure(
                "no Anthropic API key (MEMLANE_ANTHROPIC_API_KEY)", error_class=ErrorClass.NO_API_KEY
            )
        governed = self.governor.govern(request)
        window = render_window(request, governed)
        prompt_chars = SYSTEM_PROMPT + window + json.dumps(result_json_schema())
        estimate = chars_to_tokens(prompt_chars, self.settings.chars_per_token) + self.settings.claude_max_tokens
        reservation = self.budget.reserve(estimate)
        usage: list[UsageRecord] = []
        repairs: list[str] = []
        billed = 0
        try:
            message = self._call_with_backoff(request, window, usage)
            billed = sum(record.tokens_in + record.tokens_out for record in usage)
            memories, notes = accept(
                parse_result(tool_input(message), repairs),
                request,
                min_confidence=self.settings.min_confidence,
                max_items_per_kind=self.settings.max_items_per_kind,
                tags=(f"extractor:{EXTRACTOR_NAME}", f"model:{self.settings.claude_model}"),
                repairs=repairs,
            )
        except ExtractionError as failure:
            if usage and usage[-1].error_class is None:  # the call worked, its answer did not
                usage[-1] = usage[-1].model_copy(update={"outcome": FAILURE, "error_class": failure.error_class})
            failure.usage = tuple(usage)
            raise
        finally:
            self.budget.settle(reservation, billed)
        return ExtractionOutcome(
            extractor=EXTRACTOR_NAME,
            extractor_version=EXTRACTOR_VERSION,
            model=self.settings.claude_model,
            prompt_version=self.settings.prompt_version,
            memories=memories,
            usage=tuple(usage),
            warnings=(*governed.warnings, *notes),
            repairs=tuple(map(str, repairs)),
        )

    def call_tool(
        self, request: ExtractionRequest, *, system: str, content: str, tool: ToolParam, max_tokens: int
    ) -> tuple[dict[str, object], tuple[UsageRecord, ...]]:
        """One forced call of `tool` for `request` under the daily budget (with backoff): the tool's input and
        the usage records; `ExtractionError` (usage attached) when there is none. What other tasks than
        extraction (the level-3 summary fallback) ask Claude through."""
        if self._client is None:
            raise extraction_failure(
                "no Anthropic API key (MEMLANE_ANTHROPIC_API_KEY)", error_class=ErrorClass.NO_API_KEY
            )
        estimate = chars_to_tokens(system + content + json.dumps(tool), self.settings.chars_per_token) + max_tokens
        reservation = self.budget.reserve(estimate)
        usage: list[UsageRecord] = []
        billed = 0
        try:
            message = self._call_with_backoff(request, content, usage, system=system, tool=tool, max_tokens=max_tokens)
            billed = sum(record.tokens_in + record.tokens_out for record in usage)
            for block in message.content:
                if block.type == "tool_use" and block.name == tool["name"]:
                    return dict(block.input), tuple(usage)
            raise extraction_failure(
                f"Claude did not call {tool['name']} (stop_reason={message.stop_reason})",
                error_class=ErrorClass.SCHEMA_VIOLATION,
            )
        except ExtractionError as failure:
            if usage and usage[-1].error_class is None:
                usage[-1] = usage[-1].model_copy(update={"outcome": FAILURE, "error_class": failure.error_class})
            failure.usage = tuple(usage)
            raise
        finally:
            self.budget.settle(reservation, billed)

    def _call_with_backoff(
        self,
        request: ExtractionRequest,
        window: str,
        usage: list[UsageRecord],
        *,
        system: str = SYSTEM_PROMPT,
        tool: ToolParam | None = None,
        max_tokens: int | None = None,
    ) -> Message:
        assert self._client is not None
        model = self.settings.claude_model
        forced = tool or memory_tool()
        messages: list[MessageParam] = [{"role": "user", "content": window}]
        choice: ToolChoiceToolParam = {"type": "tool", "name": forced["name"], "disable_parallel_tool_use": True}
        attempts = self.settings.backoff_attempts
        for attempt in range(1, attempts + 1):
            started = self._clock()
            try:
                message = self._client.messages.create(
                    model=model,
                    max_tokens=max_tokens or self.settings.claude_max_tokens,
                    system=system,
                    messages=messages,
                    tools=[forced],
                    tool_choice=choice,
                )
            except anthropic.APIError as exc:
                failure = translate_error(exc)
                usage.append(self._usage(request, None, started, failure.error_class, attempt))
                delay = self._retry_delay(exc, failure, attempt)
                if delay is None:
                    raise failure from exc
                self._sleep(delay)
                continue
            usage.append(self._usage(request, message, started, None, attempt))
            return message
        raise AssertionError("unreachable: the last attempt returns or raises")

    def _retry_delay(self, exc: anthropic.APIError, failure: ExtractionError, attempt: int) -> float | None:
        """Seconds to wait before the next attempt, or None to give up."""
        if not policy_of(failure.error_class).transient or attempt >= self.settings.backoff_attempts:
            return None
        if isinstance(exc, anthropic.APIStatusError):
            if exc.response.headers.get("x-should-retry") == "false":
                return None
            asked = retry_after_seconds(exc.response.headers)
            if asked is not None:
                return asked if asked <= self.settings.backoff_max_s else None
        return self.backoff_delay(attempt)

    def _usage(
        self,
        request: ExtractionRequest,
        message: Message | None,
        started: float,
        error_class: str | None,
        attempt: int,
    ) -> UsageRecord:
        tokens_in = tokens_out = 0
        if message is not None:
            u = message.usage
            tokens_in = u.input_tokens + (u.cache_creation_input_tokens or 0) + (u.cache_read_input_tokens or 0)
            tokens_out = u.output_tokens
        return usage_record(
            request,
            provider=PROVIDER,
            model=self.settings.claude_model,
            tokens_in=tokens_in,
            tokens_out=tokens_out,
            latency_s=self._clock() - started,
            prices=self.prices,
            error_class=error_class,
            attempt=attempt,
        )


__all__ = [
    "EXTRACTOR_NAME",
    "EXTRACTOR_VERSION",
    "TOOL_NAME",
    "ClaudeExtractor",
    "memory_tool",
    "retry_after_seconds",
    "tool_input",
    "translate_error",
]
