"""Cost of LLM calls from the configured price table (USD per million input / output tokens).

Local Ollama models are priced at 0 in the table; `cloud_equivalent_usd` prices the same tokens at the
configured cloud model so dashboards can show what running locally saved. A model missing from the table
is matched by its longest known prefix (`claude-sonnet-4-5-20250929` -> `claude-sonnet-4-5`); a model that
matches nothing costs 0 and is reported once in the log, since a made-up price would be worse.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from dataclasses import dataclass

import structlog

from schemas.events import UsageRecord

log = structlog.get_logger(__name__)

_PER_TOKEN = 1e-6


@dataclass(frozen=True, slots=True)
class Price:
    """USD per million tokens."""

    input_per_mtok: float
    output_per_mtok: float

    def cost(self, tokens_in: int, tokens_out: int) -> float:
        return (tokens_in * self.input_per_mtok + tokens_out * self.output_per_mtok) * _PER_TOKEN


class PriceTable:
    """Prices by model name, with a cloud-equivalent model to price local tokens against."""

    def __init__(self, prices: Mapping[str, tuple[float, float]], *, cloud_equivalent_model: str) -> None:
        self._prices = {model: Price(*price) for model, price in prices.items()}
        self._cloud_model = cloud_equivalent_model
        self._warned: set[str] = set()
        self._lock = threading.Lock()

    def price_of(self, model: str) -> Price | None:
        """The model's price: exact name first, then the longest known prefix; None when unknown."""
        exact = self._prices.get(model)
        if exact is not None:
            return exact
        prefixes = [name for name in self._prices if model.startswith(name)]
        return self._prices[max(prefixes, key=len)] if prefixes else None

    def cost(self, model: str, tokens_in: int, tokens_out: int) -> float:
        """USD the call cost (0 for local models and for models with no known price)."""
        price = self.price_of(model)
        if price is None:
            with self._lock:
                first = model not in self._warned
                self._warned.add(model)
            if first:
                log.warning("pricing.unknown_model", model=model, recorded_usd=0.0)
            return 0.0
        return price.cost(tokens_in, tokens_out)

    def cloud_equivalent_usd(self, tokens_in: int, tokens_out: int) -> float:
        """What the same tokens would cost on the cloud-equivalent model."""
        price = self.price_of(self._cloud_model)
        return price.cost(tokens_in, tokens_out) if price is not None else 0.0

    def saved_usd(self, record: UsageRecord) -> float:
        """USD a call saved against the cloud-equivalent model (0 for calls that ran in the cloud)."""
        if record.provider != "ollama":
            return 0.0
        return max(0.0, self.cloud_equivalent_usd(record.tokens_in, record.tokens_out) - record.cost_usd)


__all__ = ["Price", "PriceTable"]
