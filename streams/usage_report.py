"""`memlane usage`: where the LLM tokens went, per task, from the usage topic.

Every LLM call writes a `UsageRecord` with the task it served (`extract`, `summary`, `label`, `rerank`,
`digest`), its provider and model, the provider's token counts, latency, cost and outcome. This report reads
the whole usage topic (or the records since a time, of one tenant) and groups them by (task, provider,
model): calls, failures, tokens in/out, cost and mean latency. Its totals split *local* tokens (Ollama: work
the paid model did not have to do) from *paid* ones (Anthropic) with their cost. It reads; it joins no group
and commits nothing. Records written before usage records carried their task count as `extract`.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from schemas.errors import CodecError
from schemas.events import UsageRecord
from streams.kafka.consumer import read_topic
from streams.kafka.context import StreamContext

PAID_PROVIDERS = frozenset({"anthropic"})


@dataclass(frozen=True, order=True)
class UsageKey:
    task: str
    provider: str
    model: str


@dataclass
class UsageRow:
    calls: int = 0
    failures: int = 0
    tokens_in: int = 0
    tokens_out: int = 0
    cost_usd: float = 0.0
    latency_ms: float = 0.0
    """Summed; `mean_latency_ms` divides it by the calls."""

    def add(self, record: UsageRecord) -> None:
        self.calls += 1
        self.failures += record.outcome != "success"
        self.tokens_in += record.tokens_in
        self.tokens_out += record.tokens_out
        self.cost_usd += record.cost_usd
        self.latency_ms += record.latency_ms

    @property
    def mean_latency_ms(self) -> float:
        return self.latency_ms / self.calls if self.calls else 0.0


@dataclass
class UsageReport:
    rows: dict[UsageKey, UsageRow] = field(default_factory=dict)
    undecodable: int = 0

    def add(self, record: UsageRecord) -> None:
        self.rows.setdefault(UsageKey(record.task, record.provider, record.model), UsageRow()).add(record)

    def tokens(self, *, paid: bool) -> int:
        return sum(r.tokens_in + r.tokens_out for k, r in self.rows.items() if (k.provider in PAID_PROVIDERS) == paid)

    @property
    def paid_cost_usd(self) -> float:
        return sum(r.cost_usd for k, r in self.rows.items() if k.provider in PAID_PROVIDERS)

    def as_dict(self) -> dict[str, Any]:
        return {
            "rows": [
                {
                    "task": key.task,
                    "provider": key.provider,
                    "model": key.model,
                    "calls": row.calls,
                    "failures": row.failures,
                    "tokens_in": row.tokens_in,
                    "tokens_out": row.tokens_out,
                    "cost_usd": round(row.cost_usd, 6),
                    "mean_latency_ms": round(row.mean_latency_ms, 1),
                }
                for key, row in sorted(self.rows.items())
            ],
            "local_tokens": self.tokens(paid=False),
            "paid_tokens": self.tokens(paid=True),
            "paid_cost_usd": round(self.paid_cost_usd, 6),
            "undecodable": self.undecodable,
        }


def summarise_usage(
    records: Iterable[UsageRecord], *, tenant_id: str | None = None, since: datetime | None = None
) -> UsageReport:
    """The report over `records` (of `tenant_id`, created at or after `since`, when given)."""
    report = UsageReport()
    for record in records:
        if (tenant_id is None or record.tenant_id == tenant_id) and (since is None or record.created_at >= since):
            report.add(record)
    return report


def usage_report(ctx: StreamContext, *, tenant_id: str | None = None, since: datetime | None = None) -> UsageReport:
    """The report of every usage record on the deployment's usage topic (undecodable ones counted apart)."""
    topic = ctx.topics.usage
    undecodable = 0

    def records() -> Iterable[UsageRecord]:
        nonlocal undecodable
        for message in read_topic(ctx.kafka, topic):
            try:
                yield ctx.codec.decode(message.value() or b"", UsageRecord, topic)
            except CodecError:
                undecodable += 1

    report = summarise_usage(records(), tenant_id=tenant_id, since=since)
    report.undecodable = undecodable
    return report


__all__ = ["PAID_PROVIDERS", "UsageKey", "UsageReport", "UsageRow", "summarise_usage", "usage_report"]
