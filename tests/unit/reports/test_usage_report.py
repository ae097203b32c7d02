"""The usage report groups calls by task, provider and model and splits local from paid tokens."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from schemas.errors import ValidationError
from schemas.events import UsageRecord
from streams.cli.usage_cmd import parse_since
from streams.usage_report import UsageKey, summarise_usage

NOW = datetime(2026, 12, 2, 12, 0, tzinfo=UTC)


def call(
    task: str, provider: str = "ollama", *, tenant: str = "acme", ok: bool = True, ago_h: float = 1.0
) -> UsageRecord:
    return UsageRecord(
        usage_id=f"u-{task}-{provider}-{ago_h}",
        request_id="r1",
        conversation_id="c1",
        tenant_id=tenant,
        provider=provider,
        model="claude-x" if provider == "anthropic" else "qwen",
        tokens_in=100,
        tokens_out=20,
        latency_ms=50.0,
        cost_usd=0.01 if provider == "anthropic" else 0.0,
        outcome="success" if ok else "failure",
        error_class=None if ok else "timeout",
        created_at=NOW - timedelta(hours=ago_h),
        task=task,
    )


def test_calls_are_grouped_per_task_and_local_tokens_are_told_from_paid_ones() -> None:
    records = [
        call("extract"),
        call("extract", ok=False),
        call("summary"),
        call("summary", "anthropic"),
        call("label", tenant="globex"),
        call("rerank", ago_h=48),
    ]
    report = summarise_usage(records)
    extract = report.rows[UsageKey("extract", "ollama", "qwen")]
    assert (extract.calls, extract.failures, extract.tokens_in, extract.mean_latency_ms) == (2, 1, 200, 50.0)
    assert report.tokens(paid=False) == 5 * 120 and report.tokens(paid=True) == 120
    assert report.paid_cost_usd == pytest.approx(0.01)
    scoped = summarise_usage(records, tenant_id="acme", since=NOW - timedelta(hours=24))
    assert {key.task for key in scoped.rows} == {"extract", "summary"}, "globex's labels and the old rerank left out"
    assert [row["task"] for row in scoped.as_dict()["rows"]] == ["extract", "summary", "summary"]


def test_records_written_before_they_carried_a_task_count_as_extraction() -> None:
    assert UsageRecord.model_validate({**call("x").model_dump(), "task": "extract"}).task == "extract"
    legacy = call("x").model_dump()
    del legacy["task"]
    assert UsageRecord.model_validate(legacy).task == "extract"


def test_since_takes_durations_and_iso_times() -> None:
    assert parse_since("24h", NOW) == NOW - timedelta(hours=24)
    assert parse_since("90s", NOW) == NOW - timedelta(seconds=90)
    assert parse_since("2026-12-01T00:00:00", NOW) == datetime(2026, 12, 1, tzinfo=UTC)
    with pytest.raises(ValidationError, match="duration"):
        parse_since("yesterday", NOW)
