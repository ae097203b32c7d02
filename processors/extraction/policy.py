"""What each extraction failure means and what every component does about it: the one retry-policy table.

    error class         retriable  transient  breaker   fallback (DLQ consumer)
    invalid_json        yes        no         success   repark (one more attempt)
    schema_violation    yes        no         success   repark
    low_confidence      yes        no         success   repark
    output_truncated    yes        no         success   repark  (done_reason "length": hit num_predict)
    prompt_truncated    yes        no         success   repark  (the server cut the prompt at num_ctx)
    timeout             yes        yes        failure   wait (keep parked, try later)
    connection_refused  yes        yes        failure   wait
    server_error        yes        yes        failure   wait
    overloaded          yes        yes        failure   wait
    rate_limited        yes        yes        failure   wait
    circuit_open        yes        no         failure   wait
    budget_exhausted    yes        no         failure   wait
    model_not_found     no         no         failure   wait (an operator pulls the model)
    auth_error          no         no         failure   wait (an operator fixes the key)
    no_api_key          no         no         failure   wait
    bad_request         no         no         neutral   quarantine

`retriable`: a later attempt can succeed without an operator. `transient`: worth retrying at once, with
backoff, inside one extraction (the Claude client's loop). `breaker`: how the outcome counts for the
circuit breaker around a model server (`success` proves the server works, `neutral` says nothing about
it). `fallback`: what the DLQ consumer does when Claude fails this way.

The breaker is for an unavailable service (refused connections, timeouts, 5xx, overload, a missing model):
a content failure (an answer that is not JSON, breaks the schema, is unsure or was cut) proves the server
answered, so it counts as a success there; such requests go to the DLQ on their own, counted per model and
error class (`memlane_extraction_failures_total`), and never make the rest of a batch `circuit_open`.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class ErrorClass(StrEnum):
    """Stable names of extraction failures (the DLQ header `memlane.error.class`)."""

    INVALID_JSON = "invalid_json"
    SCHEMA_VIOLATION = "schema_violation"
    LOW_CONFIDENCE = "low_confidence"
    OUTPUT_TRUNCATED = "output_truncated"
    PROMPT_TRUNCATED = "prompt_truncated"
    TIMEOUT = "timeout"
    CONNECTION_REFUSED = "connection_refused"
    SERVER_ERROR = "server_error"
    MODEL_NOT_FOUND = "model_not_found"
    CIRCUIT_OPEN = "circuit_open"
    BUDGET_EXHAUSTED = "budget_exhausted"
    RATE_LIMITED = "rate_limited"
    OVERLOADED = "overloaded"
    AUTH_ERROR = "auth_error"
    NO_API_KEY = "no_api_key"
    BAD_REQUEST = "bad_request"


class BreakerVerdict(StrEnum):
    FAILURE = "failure"
    SUCCESS = "success"
    NEUTRAL = "neutral"


class FallbackAction(StrEnum):
    WAIT = "wait"
    REPARK = "repark"
    QUARANTINE = "quarantine"


CONTENT_FAILURES = frozenset(
    {"invalid_json", "schema_violation", "low_confidence", "output_truncated", "prompt_truncated"}
)
"""The classes that judge an answer, not the server."""


@dataclass(frozen=True, slots=True)
class Policy:
    retriable: bool
    transient: bool
    breaker: BreakerVerdict
    fallback: FallbackAction


_F, _S, _N = BreakerVerdict.FAILURE, BreakerVerdict.SUCCESS, BreakerVerdict.NEUTRAL
_WAIT, _REPARK, _QUARANTINE = FallbackAction.WAIT, FallbackAction.REPARK, FallbackAction.QUARANTINE

POLICY: dict[ErrorClass, Policy] = {
    ErrorClass.INVALID_JSON: Policy(True, False, _S, _REPARK),
    ErrorClass.SCHEMA_VIOLATION: Policy(True, False, _S, _REPARK),
    ErrorClass.LOW_CONFIDENCE: Policy(True, False, _S, _REPARK),
    ErrorClass.OUTPUT_TRUNCATED: Policy(True, False, _S, _REPARK),
    ErrorClass.PROMPT_TRUNCATED: Policy(True, False, _S, _REPARK),
    ErrorClass.TIMEOUT: Policy(True, True, _F, _WAIT),
    ErrorClass.CONNECTION_REFUSED: Policy(True, True, _F, _WAIT),
    ErrorClass.SERVER_ERROR: Policy(True, True, _F, _WAIT),
    ErrorClass.OVERLOADED: Policy(True, True, _F, _WAIT),
    ErrorClass.RATE_LIMITED: Policy(True, True, _F, _WAIT),
    ErrorClass.CIRCUIT_OPEN: Policy(True, False, _F, _WAIT),
    ErrorClass.BUDGET_EXHAUSTED: Policy(True, False, _F, _WAIT),
    ErrorClass.MODEL_NOT_FOUND: Policy(False, False, _F, _WAIT),
    ErrorClass.AUTH_ERROR: Policy(False, False, _F, _WAIT),
    ErrorClass.NO_API_KEY: Policy(False, False, _F, _WAIT),
    ErrorClass.BAD_REQUEST: Policy(False, False, _N, _QUARANTINE),
}


def policy_of(error_class: str) -> Policy:
    """The policy of an error class name (an unknown name is treated as a retriable server failure)."""
    try:
        return POLICY[ErrorClass(error_class)]
    except ValueError:
        return POLICY[ErrorClass.SERVER_ERROR]


__all__ = ["CONTENT_FAILURES", "POLICY", "BreakerVerdict", "ErrorClass", "FallbackAction", "Policy", "policy_of"]
