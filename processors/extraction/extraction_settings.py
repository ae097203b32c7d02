"""Tuning of extraction workers and the Claude fallback (`MEMLANE_EXTRACTION__*`).

Connection settings (Ollama URL, Anthropic key and base URL, extractor choice) are flat fields of the root
`Settings`; everything here is a knob of the extraction modules: model routing, Ollama options, the circuit
breaker, the token governor, Claude retries and budget, and the price table used for usage records.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, model_validator

from schemas.errors import ConfigError

# USD per million tokens (input, output). Ollama models run locally and cost nothing; their tokens are
# also priced at `cloud_equivalent_model` to report what the local model saved.
DEFAULT_PRICES: dict[str, tuple[float, float]] = {
    "claude-opus-4-5": (5.0, 25.0),
    "claude-opus-4-6": (5.0, 25.0),
    "claude-sonnet-4-6": (3.0, 15.0),
    "claude-sonnet-4-5": (3.0, 15.0),
    "claude-haiku-4-5": (1.0, 5.0),
    "qwen2.5:7b-instruct": (0.0, 0.0),
    "qwen2.5:32b-instruct": (0.0, 0.0),
}


class RoutingRules(BaseModel):
    """When a window goes to the complex model (`MEMLANE_EXTRACTION__ROUTING__*`); any one rule suffices."""

    model_config = ConfigDict(use_attribute_docstrings=True)

    min_tokens: int = Field(default=3000, ge=1, description="window tokens at or above which it is complex")
    min_turns: int = Field(default=40, ge=1, description="turns at or above which a window is complex")
    min_speakers: int = Field(default=3, ge=2, description="distinct speakers that make a window multi-party")
    min_decisions: int = Field(default=3, ge=1, description="decision turns that make a window decision-heavy")


class ExtractionSettings(BaseModel):
    """Models, timeouts, breaker and budget of extraction. Owned by the extraction modules."""

    model_config = ConfigDict(use_attribute_docstrings=True)

    # Ollama models and routing
    fast_model: str = "qwen2.5:7b-instruct"
    """Ollama model of the fast route (most windows)."""
    complex_model: str = "qwen2.5:32b-instruct"
    """Ollama model of the complex route (long or technical windows)."""
    routing: RoutingRules = RoutingRules()
    """When a window takes the complex route."""

    # Ollama call
    temperature: float = Field(default=0.3, ge=0.0, le=2.0)
    """Sampling temperature of extraction calls."""
    num_ctx: int = Field(
        default=4096, ge=512, description="context sent for a model not in num_ctx_by_model (the server's default)"
    )
    num_ctx_by_model: dict[str, int] = Field(
        default_factory=dict, description="num_ctx per model; a num_ctx other than the loaded one forces a reload"
    )
    max_output_tokens: int = Field(default=1536, ge=64, description="most tokens a model may answer (num_predict)")
    output_tokens_base: int = Field(default=64, ge=16, description="num_predict of an answer's frame (its lists)")
    output_tokens_per_item: int = Field(
        default=100, ge=16, description="num_predict per item the answer's grammar allows (text, subject, sources)"
    )
    turns_per_answer_item: int = Field(
        default=4,
        ge=1,
        description="window turns per item a list of the answer may hold (grammar maxItems, at least 1)",
    )
    prompt_mismatch_ratio: float = Field(
        default=0.5, gt=0, description="server prompt tokens off the estimate by more than this share: a mismatch"
    )
    context_share: float = Field(
        default=0.9, gt=0.3, le=1.0, description="share of num_ctx the prompt may use (tokens are estimated)"
    )
    keep_alive: str | None = Field(default=None, description="Ollama keep_alive, e.g. '10m'; server default")
    request_timeout_s: float = Field(default=120.0, gt=0)
    """Timeout of one Ollama extraction call, in seconds."""
    ollama_parallelism: int = Field(
        default=1, ge=1, description="concurrent Ollama calls per worker: the server's OLLAMA_NUM_PARALLEL (1)"
    )
    busy_attempts: int = Field(default=3, ge=1, description="calls per request while Ollama answers 503 busy")
    busy_backoff_s: float = Field(default=2.0, ge=0, description="first wait after a 503; doubles per attempt")
    worker_group_id: str = "memlane-extract"
    """Consumer group of the extraction workers."""
    worker_batch_size: int = Field(default=32, ge=1, description="requests consumed per batch by a worker")
    fallback_group_id: str = "memlane-fallback"
    """Consumer group of the Claude fallback on the DLQ."""
    fallback_batch_size: int = Field(default=16, ge=1)
    """DLQ requests the fallback takes per batch."""
    fallback_park_cooldown_s: float = Field(
        default=60.0, gt=0, description="wait before retrying parked DLQ requests after Claude failed"
    )
    health_interval_s: float = Field(default=30.0, gt=0)
    """Seconds between health checks of Ollama while the worker runs."""
    health_timeout_s: float = Field(default=5.0, gt=0)
    """Timeout of one health check, in seconds."""

    # Result acceptance
    min_confidence: float = Field(default=0.7, ge=0.0, le=1.0)
    """Memories below this confidence are dropped; an answer with none above it is `low_confidence`."""
    max_items_per_kind: int = Field(default=20, ge=1)
    """Most memories of one kind a single turn yields."""

    # Circuit breaker around Ollama
    breaker_failure_threshold: int = Field(default=5, ge=1)
    """Consecutive service failures (connection, timeout, 5xx) that open the circuit breaker."""
    breaker_cooldown_s: float = Field(default=300.0, gt=0)
    """Seconds the breaker stays open before a half-open trial call."""

    # Token governor for blob content pulled into the prompt
    governor_warn_tokens: int = Field(default=20_000, ge=1)
    """Request tokens above which the token governor logs a warning."""
    governor_pointer_tokens: int = Field(default=40_000, ge=1)
    """Request tokens above which large turn contents are replaced by blob pointers."""
    chars_per_token: float = Field(default=4.0, gt=0, description="token estimate for text not yet tokenised")
    pointer_preview_chars: int = Field(default=160, ge=0)
    """Characters of content kept beside a blob pointer."""

    # Claude fallback
    claude_model: str = "claude-sonnet-4-6"
    """Claude model of the fallback."""
    claude_max_tokens: int = Field(default=4096, ge=1)
    """`max_tokens` of a fallback call."""
    claude_timeout_s: float = Field(default=60.0, gt=0)
    """Timeout of one Claude call, in seconds."""
    backoff_base_s: float = Field(default=1.0, ge=0)
    """First delay of the Claude retry backoff, in seconds."""
    backoff_max_s: float = Field(default=60.0, ge=0)
    """Longest delay of the Claude retry backoff, in seconds."""
    backoff_attempts: int = Field(default=5, ge=1, description="calls per request, the first one included")
    daily_token_budget: int | None = Field(default=2_000_000, ge=0, description="Claude tokens a UTC day")

    # Usage accounting
    prices: dict[str, tuple[float, float]] = Field(default_factory=lambda: dict(DEFAULT_PRICES))
    """USD per million input and output tokens, per model (usage records' cost)."""
    cloud_equivalent_model: str = "claude-haiku-4-5"
    """The cloud model a local call is priced as, for the tokens-saved figures."""

    prompt_version: str = "extract-v2"
    """Version of the extraction prompt, part of usage records and batch ids."""

    @model_validator(mode="after")
    def _check(self) -> ExtractionSettings:
        if self.governor_pointer_tokens < self.governor_warn_tokens:
            raise ConfigError(
                "MEMLANE_EXTRACTION__GOVERNOR_POINTER_TOKENS must be >= MEMLANE_EXTRACTION__GOVERNOR_WARN_TOKENS"
            )
        if self.backoff_max_s < self.backoff_base_s:
            raise ConfigError("MEMLANE_EXTRACTION__BACKOFF_MAX_S must be >= MEMLANE_EXTRACTION__BACKOFF_BASE_S")
        for model, price in self.prices.items():
            if min(price) < 0:
                raise ConfigError(f"price of {model} must not be negative, got {price}")
        for model, num_ctx in self.num_ctx_by_model.items():
            if num_ctx < 512:
                raise ConfigError(f"num_ctx of {model} must be >= 512, got {num_ctx}")
        return self

    def num_ctx_of(self, model: str) -> int:
        """The context window sent with calls to `model`."""
        return self.num_ctx_by_model.get(model, self.num_ctx)

    def num_predict(self, turns: int) -> int:
        """The output cap of one answer for a window of `turns` turns: room for every item its grammar allows
        (four lists of `answer_items`), at most `max_output_tokens`."""
        items = 4 * self.answer_items(turns)
        return min(self.max_output_tokens, self.output_tokens_base + self.output_tokens_per_item * items)

    def answer_items(self, turns: int) -> int:
        """How many items each list of an answer may hold for a window of `turns` turns."""
        return min(self.max_items_per_kind, max(1, -(-turns // self.turns_per_answer_item)))


__all__ = ["DEFAULT_PRICES", "ExtractionSettings", "RoutingRules"]
