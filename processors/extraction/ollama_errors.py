"""What an Ollama failure means: the errors of `ollama.Client.chat` (and its HTTP transport) as `ExtractionError`s.

The real server (0.17.4) answers, and this table follows it:

    404 "model 'x' not found"                                   model_not_found (the model is not pulled)
    429                                                         rate_limited
    503 "server busy, please try again.  maximum pending ..."   overloaded      (queue full: OLLAMA_MAX_QUEUE)
    500 "invalid JSON schema in format", "invalid format: ...", bad_request     (the request is wrong: a retry
        'option "num_ctx" must be of type integer'                              or another server fails alike)
    other 5xx, or a stream error                                server_error    (e.g. the runner crashed)
    other 4xx                                                   bad_request
    ConnectionError / httpx.ConnectError                        connection_refused
    httpx.TimeoutException                                      timeout
    other httpx.TransportError                                  connection_refused (reset before an answer)
    malformed response body                                     server_error

An answer that arrives is judged elsewhere (`done_reason` "length" is `output_truncated`, a prompt cut at
`num_ctx` is `prompt_truncated`, then the result's own checks).
"""

from __future__ import annotations

import re

import httpx
import pydantic

try:
    import ollama
except ImportError as exc:  # the `extraction` extra is not installed
    raise ImportError("the Ollama extractor needs `ollama`: pip install 'memlane[extraction]'") from exc

from processors.extraction.contract import ErrorClass, ExtractionError, extraction_failure

REQUEST_ERROR_500 = re.compile(r"^(invalid JSON schema in format|invalid format\b|option \"[^\"]+\" must be of type)")
"""The 500 bodies with which Ollama refuses a request it cannot run (its format or an option), not a failure."""

CALL_ERRORS = (ollama.ResponseError, ConnectionError, httpx.HTTPError, pydantic.ValidationError, ValueError)
"""What `ollama.Client.chat` raises."""


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
        if status == 500 and REQUEST_ERROR_500.match(detail or ""):
            return extraction_failure(f"request refused by Ollama: {detail}", error_class=ErrorClass.BAD_REQUEST)
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


__all__ = ["CALL_ERRORS", "REQUEST_ERROR_500", "translate_error"]
