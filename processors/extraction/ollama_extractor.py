"""The Ollama extractor: a routed chat call with the result's JSON schema as `format`, validated to memories.

One `extract()` is: breaker permit -> route (7B or 32B) -> token governor -> `ollama.Client.chat` with
`format=<schema>` and the configured options -> parse, validate, confidence policy -> memories. Every call
yields a `UsageRecord` (tokens from `prompt_eval_count` / `eval_count`), also when it fails. This module is
the one boundary with the `ollama` and `httpx` libraries; their errors become `ExtractionError`:

    ollama.ResponseError 404            model_not_found     (the model is not pulled)
    ollama.ResponseError 429            rate_limited
    ollama.ResponseError 503            overloaded          (queue full: OLLAMA_MAX_QUEUE)
    ollama.ResponseError 5xx / stream   server_error
    ollama.ResponseError other 4xx      bad_request
    ConnectionError / httpx.ConnectError  connection_refused
    httpx.TimeoutException              timeout
    other httpx.TransportError          connection_refused  (reset / dropped before an answer)
    malformed response body             server_error

Breaker verdicts: an accepted result or a `low_confidence` one proves the server works (success);
`bad_request` says nothing about the server (released); every other failure counts toward opening.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable
from typing import Any

import httpx
import pydantic
import structlog

try:
    import ollama
except ImportError as exc:  # the `extraction` extra is not installed
    raise ImportError("the Ollama extractor needs `ollama`: pip install 'memlane[extraction]'") from exc

from processors.extraction.breaker import CircuitBreaker
from processors.extraction.contract import ErrorClass, ExtractionError, ExtractionOutcome, extraction_failure
from processors.extraction.extraction_settings import ExtractionSettings
from processors.extraction.governor import BlobReader, TokenGovernor, chars_to_tokens
from processors.extraction.health import OllamaHealth
from processors.extraction.policy import BreakerVerdict, policy_of
from processors.extraction.pricing import PriceTable
from processors.extraction.prompt import SYSTEM_PROMPT, build_messages
from processors.extraction.result import accept, parse_result, result_json_schema
from processors.extraction.routing import route
from processors.extraction.usage import usage_record
from schemas.events import ExtractionRequest, UsageRecord

log = structlog.get_logger(__name__)

EXTRACTOR_NAME = "ollama"
EXTRACTOR_VERSION = "1.0"


def translate_error(exc: Exception, model: str) -> ExtractionError:
    """The `ExtractionError` for an error of `ollama.Client.chat` (the caller chains `from exc`)."""
    if isinstance(exc, ollama.ResponseError):
        status, detail = exc.status_code, exc.error
        if status == 404:
            return extraction_failure(f"model {model} not found: {detail}", error_class=ErrorClass.MODEL_NOT_FOUND)
        if status == 429:
            return extraction_failure(f"rate limited: {detail}", error_class=ErrorClass.RATE_LIMITED)
        if status == 503:
            return extraction_failure(f"server busy: {detail}", error_class=ErrorClass.OVERLOADED)
        if status >= 500 or status < 0:
            return extraction_failure(f"server error {status}: {detail}", error_class=ErrorClass.SERVER_ERROR)
        return extraction_failure(f"request rejected ({status}): {detail}", error_class=ErrorClass.BAD_REQUEST)
    if isinstance(exc, ConnectionError | httpx.ConnectError):
        return extraction_failure(f"cannot connect to Ollama: {exc}", error_class=ErrorClass.CONNECTION_REFUSED)
    if isinstance(exc, httpx.TimeoutException):
        return extraction_failure(f"Ollama call timed out: {exc!r}", error_class=ErrorClass.TIMEOUT)
    if isinstance(exc, httpx.TransportError):
        return extraction_failure(
            f"Ollama dropped the connection without answering: {exc!r}",
            error_class=ErrorClass.CONNECTION_REFUSED,
        )
    return extraction_failure(f"malformed Ollama response: {exc}", error_class=ErrorClass.SERVER_ERROR)


def prompt_budget(settings: ExtractionSettings) -> int:
    """Tokens the window may take in a prompt so that the whole call fits the model's context (`num_ctx`):
    its share of the context, less the answer's room and the system prompt."""
    system = chars_to_tokens(SYSTEM_PROMPT, settings.chars_per_token)
    return max(256, int(settings.num_ctx * settings.context_share) - settings.max_output_tokens - system)


_CALL_ERRORS = (ollama.ResponseError, ConnectionError, httpx.HTTPError, pydantic.ValidationError, ValueError)


class OllamaExtractor:
    """Extracts memories with a local model served by Ollama. Thread-safe; share one per worker."""

    def __init__(
        self,
        client: ollama.Client,
        settings: ExtractionSettings,
        *,
        breaker: CircuitBreaker | None = None,
        governor: TokenGovernor | None = None,
        prices: PriceTable | None = None,
        health_client: ollama.Client | None = None,
        clock: Callable[[], float] = time.perf_counter,
    ) -> None:
        self._client = client
        self._health_client = health_client or client
        self.settings = settings
        self.breaker = breaker or CircuitBreaker(
            failure_threshold=settings.breaker_failure_threshold, cooldown_s=settings.breaker_cooldown_s
        )
        self.governor = governor or TokenGovernor.from_settings(
            settings, None, max_prompt_tokens=prompt_budget(settings)
        )
        self.prices = prices or PriceTable(settings.prices, cloud_equivalent_model=settings.cloud_equivalent_model)
        self._clock = clock

    @classmethod
    def connect(cls, url: str, settings: ExtractionSettings, *, blobs: BlobReader | None = None) -> OllamaExtractor:
        """An extractor for the Ollama server at `url`, reading blobs through `blobs` when given."""
        client = ollama.Client(host=url, timeout=settings.request_timeout_s)
        health_client = ollama.Client(host=url, timeout=settings.health_timeout_s)
        governor = TokenGovernor.from_settings(settings, blobs, max_prompt_tokens=prompt_budget(settings))
        return cls(client, settings, governor=governor, health_client=health_client)

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

    def options(self, request: ExtractionRequest | None = None) -> dict[str, Any]:
        """Sampling options; a request's own seed makes a redelivered request sample the same answer."""
        options: dict[str, Any] = {"temperature": self.settings.temperature, "num_ctx": self.settings.num_ctx}
        if request is not None:
            digest = hashlib.sha256(request.request_id.encode("utf-8")).digest()
            options["seed"] = int.from_bytes(digest[:4], "big") & 0x7FFFFFFF
        return options

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

    def _extract(self, request: ExtractionRequest) -> ExtractionOutcome:
        decision = route(request, self.settings)
        governed = self.governor.govern(request)
        warnings = list(governed.warnings)
        if governed.prompt_tokens > self.settings.num_ctx:
            warnings.append(f"prompt ~{governed.prompt_tokens} tokens exceeds num_ctx {self.settings.num_ctx}")
        started = self._clock()
        try:
            response = self._client.chat(
                model=decision.model,
                messages=build_messages(request, governed),
                format=result_json_schema(),
                options=self.options(request),
                keep_alive=self.settings.keep_alive,
                stream=False,
            )
        except _CALL_ERRORS as exc:
            failure = translate_error(exc, decision.model)
            failure.usage = (self._usage(request, decision.model, None, started, failure.error_class),)
            raise failure from exc
        try:
            result = parse_result(response.message.content or "")
            memories, notes = accept(
                result,
                request,
                min_confidence=self.settings.min_confidence,
                max_items_per_kind=self.settings.max_items_per_kind,
                tags=(f"extractor:{EXTRACTOR_NAME}", f"model:{decision.model}"),
            )
        except ExtractionError as failure:
            failure.usage = (self._usage(request, decision.model, response, started, failure.error_class),)
            raise
        return ExtractionOutcome(
            extractor=EXTRACTOR_NAME,
            extractor_version=EXTRACTOR_VERSION,
            model=decision.model,
            prompt_version=self.settings.prompt_version,
            memories=memories,
            usage=(self._usage(request, decision.model, response, started, None),),
            warnings=(*warnings, *notes),
        )

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
        )


__all__ = ["EXTRACTOR_NAME", "EXTRACTOR_VERSION", "OllamaExtractor", "translate_error"]
