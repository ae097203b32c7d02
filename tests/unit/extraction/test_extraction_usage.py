"""Usage records and the price table."""

from __future__ import annotations

import pytest
from extraction_support import simple_request
from structlog.testing import capture_logs

from processors.extraction.extraction_settings import DEFAULT_PRICES
from processors.extraction.pricing import PriceTable
from processors.extraction.usage import usage_record


@pytest.fixture
def prices() -> PriceTable:
    return PriceTable(DEFAULT_PRICES, cloud_equivalent_model="claude-haiku-4-5")


def test_cost_from_the_table_with_prefix_matching(prices: PriceTable) -> None:
    assert prices.cost("claude-sonnet-4-6", 1_000_000, 0) == pytest.approx(3.0)
    assert prices.cost("claude-sonnet-4-6-20250929", 1000, 2000) == pytest.approx(0.003 + 0.030)
    assert prices.cost("qwen2.5:7b-instruct", 10**6, 10**6) == 0.0


def test_unknown_model_costs_nothing_and_is_logged_once(prices: PriceTable) -> None:
    with capture_logs() as records:
        assert prices.cost("mystery-model", 100, 100) == 0.0
        assert prices.cost("mystery-model", 100, 100) == 0.0
    assert len([r for r in records if "mystery-model" in str(r)]) == 1


def test_usage_record_of_a_local_call_and_its_savings(prices: PriceTable) -> None:
    record = usage_record(
        simple_request(),
        provider="ollama",
        model="qwen2.5:7b-instruct",
        tokens_in=1_000_000,
        tokens_out=100_000,
        latency_s=1.25,
        prices=prices,
    )
    assert (record.tokens_in, record.tokens_out, record.latency_ms) == (1_000_000, 100_000, 1250.0)
    assert record.cost_usd == 0.0 and record.outcome == "success" and record.error_class is None
    assert prices.saved_usd(record) == pytest.approx(1.0 + 0.5)
    assert (record.request_id, record.conversation_id, record.tenant_id) == ("req-1", "conv-1", "acme")


def test_failed_cloud_call(prices: PriceTable) -> None:
    record = usage_record(
        simple_request(),
        provider="anthropic",
        model="claude-sonnet-4-6",
        tokens_in=0,
        tokens_out=0,
        latency_s=0.2,
        prices=prices,
        error_class="rate_limited",
        attempt=2,
    )
    assert (record.outcome, record.error_class, record.attempt, record.cost_usd) == ("failure", "rate_limited", 2, 0)
    assert prices.saved_usd(record) == 0.0
