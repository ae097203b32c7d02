"""Usage records: one `UsageRecord` event for every LLM call an extractor makes, failed calls included.

Tokens come from the provider's own counts (Ollama's `prompt_eval_count` / `eval_count`, Anthropic's
`usage.input_tokens` / `usage.output_tokens`); a call that failed before the provider counted anything
records 0 tokens with its latency and error class. Usage ids are random: two calls are two events even when
a redelivered request repeats one, because both cost money.
"""

from __future__ import annotations

import uuid

from processors.extraction.pricing import PriceTable
from schemas.events import ExtractionRequest, UsageRecord

SUCCESS = "success"
FAILURE = "failure"


def usage_record(
    request: ExtractionRequest,
    *,
    provider: str,
    model: str,
    tokens_in: int,
    tokens_out: int,
    latency_s: float,
    prices: PriceTable,
    error_class: str | None = None,
    attempt: int = 1,
) -> UsageRecord:
    """The record of one call; `error_class=None` means the call succeeded."""
    tokens_in, tokens_out = max(0, tokens_in), max(0, tokens_out)
    return UsageRecord(
        usage_id=str(uuid.uuid4()),
        request_id=request.request_id,
        conversation_id=request.conversation_id,
        tenant_id=request.tenant_id,
        provider=provider,
        model=model,
        tokens_in=tokens_in,
        tokens_out=tokens_out,
        latency_ms=max(0.0, latency_s * 1000.0),
        cost_usd=prices.cost(model, tokens_in, tokens_out),
        outcome=SUCCESS if error_class is None else FAILURE,
        error_class=error_class,
        attempt=attempt,
        task="summary" if request.task == "summary" else "extract",
    )


__all__ = ["FAILURE", "SUCCESS", "usage_record"]
