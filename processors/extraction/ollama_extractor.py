"""The Ollama extractor: a routed chat call with a grammar-enforceable schema as `format`, validated to memories.

One `extract()` is: breaker permit -> route (fast or complex model) -> token governor (the prompt fits that
model's `num_ctx`) -> `ollama.Client.chat` with `format=<schema for this window>`, `num_ctx` of the model and
`num_predict` sized from the window -> the answer's checks -> memories. Every call yields a `UsageRecord`
with the server's own token counts (`prompt_eval_count` / `eval_count`), also when it fails. The errors of
the `ollama` and `httpx` libraries become `ExtractionError`s in `processors.extraction.ollama_errors`.

Checks of an answer, in order: `done_reason` "length" (the answer hit `num_predict`) is `output_truncated`;
a `prompt_eval_count` at or over `num_ctx` means the server cut the prompt (and its system prompt) silently:
`prompt_truncated`; a count far off the estimate is a `prompt_mismatch` on the outcome; then the safe repairs,
the schema and the confidence policy (`processors.extraction.result`), repairs listed on the outcome.

A 503 (server busy: its queue is full) is retried here with backoff (`busy_attempts`, `busy_backoff_s`)
before it fails as `overloaded`. Breaker verdicts follow the policy table: content failures prove the server
answered; `bad_request` says nothing about it; unavailability (refused, timeout, 5xx, busy) counts toward
opening it.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable
from typing import Any

import structlog

try:
    import ollama
except ImportError as exc:  # the `extraction` extra is not installed
    raise ImportError("the Ollama extractor needs `ollama`: pip install 'memlane[extraction]'") from exc

from processors.extraction.breaker import CircuitBreaker
from processors.extraction.contract import ErrorClass, ExtractionError, ExtractionOutcome, extraction_failure
from processors.extraction.extraction_settings import ExtractionSettings
from processors.extraction.governor import BlobReader, GovernedWindow, TokenGovernor, chars_to_tokens
from processors.extraction.health import OllamaHealth
from processors.extraction.ollama_errors import CALL_ERRORS, translate_error
from processors.extraction.policy import BreakerVerdict, policy_of
from processors.extraction.pricing import PriceTable
from processors.extraction.prompt import SYSTEM_PROMPT, build_messages
from processors.extraction.repair import Repairs
from processors.extraction.result import accept, parse_result, result_json_schema
from processors.extraction.routing import route
from processors.extraction.usage import FAILURE, usage_record
from schemas.events import ExtractionRequest, UsageRecord

log = structlog.get_logger(__name__)

EXTRACTOR_NAME = "ollama"
EXTRACTOR_VERSION = "1.0"


CHAT_TEMPLATE_TOKENS = 16
"""What the chat template adds to a prompt (role markers), for comparing the estimate with the server's count."""


def prompt_budget(settings: ExtractionSettings, model: str | None = None, *, turns: int | None = None) -> int:
    """Tokens the window may take in a prompt to `model` so that the whole call fits its context (`num_ctx`):
    its share of the context, less the answer's room (`num_predict` of a window of `turns`, or the most any
    answer may take) and the system prompt."""
    num_ctx = settings.num_ctx_of(model) if model is not None else settings.num_ctx
    answer = settings.num_predict(turns) if turns is not None else settings.max_output_tokens
    system = chars_to_tokens(SYSTEM_PROMPT, settings.chars_per_token)
    return max(256, int(num_ctx * settings.context_share) - answer - system)


class OllamaExtractor:
    """Extracts memories with a local model served by Ollama. Thread-safe; share one per worker."""

    def __init__(
        self,
        client: ollama.Client,
        settings: ExtractionSettings,
        *,
        breaker: CircuitBreaker | None = None,
        governor: TokenGovernor | None = None,
        blobs: BlobReader | None = None,
        prices: PriceTable | None = None,
        health_client: ollama.Client | None = None,
        clock: Callable[[], float] = time.perf_counter,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self._client = client
        self._health_client = health_client or client
        self.settings = settings
        self.breaker = breaker or CircuitBreaker(
            failure_threshold=settings.breaker_failure_threshold, cooldown_s=settings.breaker_cooldown_s
        )
        self.governor = governor or TokenGovernor.from_settings(settings, blobs)
        """Decides what of a window's blobs fits; each request gets the limit of its model's context."""
        self.prices = prices or PriceTable(settings.prices, cloud_equivalent_model=settings.cloud_equivalent_model)
        self._clock = clock
        self._sleep = sleep

    @classmethod
    def connect(cls, url: str, settings: ExtractionSettings, *, blobs: BlobReader | None = None) -> OllamaExtractor:
        """An extractor for the Ollama server at `url`, reading blobs through `blobs` when given."""
        client = ollama.Client(host=url, timeout=settings.request_timeout_s)
        health_client = ollama.Client(host=url, timeout=settings.health_timeout_s)
        return cls(client, settings, blobs=blobs, health_client=health_client)

    @property
    def name(self) -> str:
        return EXTRACTOR_NAME

    def close(self) -> None:
        """Close the HTTP connections (the worker calls this on shutdown)."""
        # ollama's Client.close() carries no annotations
        self._client.close()  # type: ignore[no-untyped-call]
        if self._health_client is not self._client:
            self._health_client.close()  # type: ignore[no-untyped-call]

    def redriven(self) -> None:
        """Re-driven requests are the operator's word that Ollama is back: the open breaker gets its trial now."""
        if self.breaker.half_open_now():
            log.info("breaker.half_open_on_redrive", breaker=self.breaker.name)

    def health(self, *, clock: Callable[[], float] = time.monotonic) -> OllamaHealth:
        """A health probe on this extractor's client, requiring both routed models."""
        return OllamaHealth(
            self._health_client,
            required_models=(self.settings.fast_model, self.settings.complex_model),
            interval_s=self.settings.health_interval_s,
            clock=clock,
        )

    def options(self, request: ExtractionRequest | None = None, model: str | None = None) -> dict[str, Any]:
        """Sampling options: the model's `num_ctx`, an output cap sized from the window, and a seed of the
        request's own, so that a redelivered request samples the same answer."""
        num_ctx = self.settings.num_ctx_of(model) if model is not None else self.settings.num_ctx
        options: dict[str, Any] = {"temperature": self.settings.temperature, "num_ctx": num_ctx}
        if request is not None:
            options["num_predict"] = self.settings.num_predict(len(request.turns))
            digest = hashlib.sha256(request.request_id.encode("utf-8")).digest()
            options["seed"] = int.from_bytes(digest[:4], "big") & 0x7FFFFFFF
        return options

    def answer_format(self, request: ExtractionRequest) -> dict[str, Any]:
        """The `format` of one request: the result schema with its turn numbers and list lengths bounded."""
        return result_json_schema(request, max_items=self.settings.answer_items(len(request.turns)))

    def extract(self, request: ExtractionRequest) -> ExtractionOutcome:
        trial = self.breaker.acquire()
        try:
            outcome = self._extract(request)
        except ExtractionError as failure:
            self._verdict(failure.error_class, trial)
            raise
        except BaseException:
            self.breaker.release(trial)
            raise
        self.breaker.record_success(trial)
        return outcome

    def _chat(
        self, request: ExtractionRequest, model: str, governed: GovernedWindow, usage: list[UsageRecord]
    ) -> tuple[ollama.ChatResponse, float]:
        """The chat call (and when its last attempt started), retried with backoff while the server answers 503."""
        attempts = self.settings.busy_attempts
        for attempt in range(1, attempts + 1):
            started = self._clock()
            try:
                response = self._client.chat(
                    model=model,
                    messages=build_messages(request, governed),
                    format=self.answer_format(request),
                    options=self.options(request, model),
                    keep_alive=self.settings.keep_alive,
                    stream=False,
                )
                return response, started
            except CALL_ERRORS as exc:
                failure = translate_error(exc, model)
                usage.append(self._usage(request, model, None, started, failure.error_class, attempt=attempt))
                if failure.error_class != ErrorClass.OVERLOADED or attempt >= attempts:
                    failure.usage = tuple(usage)
                    raise failure from exc
                delay = self.settings.busy_backoff_s * 2.0 ** (attempt - 1)
                log.info("ollama.busy_retry", request_id=request.request_id, attempt=attempt, wait_s=delay)
                self._sleep(delay)
        raise AssertionError("unreachable: the last attempt returns or raises")

    def _extract(self, request: ExtractionRequest) -> ExtractionOutcome:
        model = route(request, self.settings).model
        budget = prompt_budget(self.settings, model, turns=len(request.turns))
        governed = self.governor.govern(request, limit=budget)
        usage: list[UsageRecord] = []
        response, started = self._chat(request, model, governed, usage)
        usage.append(self._usage(request, model, response, started, None, attempt=len(usage) + 1))
        repairs: Repairs = []
        try:
            mismatch = self._check_answer(request, model, governed, response)
            result = parse_result(response.message.content or "", repairs)
            memories, notes = accept(
                result,
                request,
                min_confidence=self.settings.min_confidence,
                max_items_per_kind=self.settings.max_items_per_kind,
                tags=(f"extractor:{EXTRACTOR_NAME}", f"model:{model}"),
                repairs=repairs,
            )
        except ExtractionError as failure:
            usage[-1] = usage[-1].model_copy(update={"outcome": FAILURE, "error_class": failure.error_class})
            failure.usage, failure.repairs = tuple(usage), tuple(map(str, repairs))
            raise
        warnings = [*governed.warnings, *notes]
        if mismatch:
            warnings.append(mismatch)
        if repairs:
            log.info("extraction.repaired", request_id=request.request_id, model=model, repairs=list(map(str, repairs)))
        return ExtractionOutcome(
            extractor=EXTRACTOR_NAME,
            extractor_version=EXTRACTOR_VERSION,
            model=model,
            prompt_version=self.settings.prompt_version,
            memories=memories,
            usage=tuple(usage),
            warnings=tuple(warnings),
            repairs=tuple(map(str, repairs)),
            prompt_mismatch=mismatch is not None,
        )

    def _check_answer(
        self, request: ExtractionRequest, model: str, governed: GovernedWindow, response: ollama.ChatResponse
    ) -> str | None:
        """Raise for an answer cut at `num_predict` or a prompt the server cut at `num_ctx`; a warning when the
        server counted prompt tokens far off the estimate."""
        if response.done_reason == "length":
            cap = self.settings.num_predict(len(request.turns))
            raise extraction_failure(
                f"answer cut at num_predict={cap} tokens (done_reason length) by {model}",
                error_class=ErrorClass.OUTPUT_TRUNCATED,
            )
        counted = response.prompt_eval_count or 0
        num_ctx = self.settings.num_ctx_of(model)
        if counted >= num_ctx:
            raise extraction_failure(
                f"{model} cut the prompt to num_ctx={num_ctx} tokens (prompt_eval_count {counted}); "
                f"estimated {self.estimated_prompt_tokens(governed)}",
                error_class=ErrorClass.PROMPT_TRUNCATED,
            )
        estimate = self.estimated_prompt_tokens(governed)
        if counted and abs(counted - estimate) > self.settings.prompt_mismatch_ratio * estimate:
            log.warning(
                "extraction.prompt_mismatch", request_id=request.request_id, estimated=estimate, counted=counted
            )
            return f"prompt tokens: estimated {estimate}, {model} counted {counted}"
        return None

    def estimated_prompt_tokens(self, governed: GovernedWindow) -> int:
        """The governor's estimate of a whole prompt: window, system prompt and chat template."""
        system = chars_to_tokens(SYSTEM_PROMPT, self.settings.chars_per_token)
        return governed.prompt_tokens + system + CHAT_TEMPLATE_TOKENS

    def _verdict(self, error_class: str, trial: bool) -> None:
        verdict = policy_of(error_class).breaker
        if verdict is BreakerVerdict.SUCCESS:
            self.breaker.record_success(trial)
        elif verdict is BreakerVerdict.NEUTRAL:
            self.breaker.release(trial)
        else:
            self.breaker.record_failure(trial)

    def _usage(
        self,
        request: ExtractionRequest,
        model: str,
        response: ollama.ChatResponse | None,
        started: float,
        error_class: str | None,
        *,
        attempt: int = 1,
    ) -> UsageRecord:
        return usage_record(
            request,
            provider=EXTRACTOR_NAME,
            model=model,
            tokens_in=(response.prompt_eval_count or 0) if response is not None else 0,
            tokens_out=(response.eval_count or 0) if response is not None else 0,
            latency_s=self._clock() - started,
            prices=self.prices,
            error_class=error_class,
            attempt=attempt,
        )


__all__ = [
    "CHAT_TEMPLATE_TOKENS",
    "EXTRACTOR_NAME",
    "EXTRACTOR_VERSION",
    "OllamaExtractor",
    "prompt_budget",
    "translate_error",
]
