"""`memlane usage`: LLM calls and tokens per task (extract, summary, label, rerank, digest), local vs paid.

memlane usage                     # every record on the usage topic
memlane usage --since 24h         # the last day (s, m, h, d)
memlane usage --tenant acme --json
"""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta

import typer
from rich.table import Table

from schemas.errors import ValidationError
from streams.cli.context import console, get_settings, reported_errors
from streams.usage_report import UsageReport, usage_report

_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def parse_since(text: str, now: datetime | None = None) -> datetime:
    """`90s`, `15m`, `24h`, `7d` before now, or an ISO-8601 time."""
    match = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([smhd])\s*", text)
    if match:
        return (now or datetime.now(UTC)) - timedelta(seconds=float(match.group(1)) * _UNITS[match.group(2)])
    try:
        when = datetime.fromisoformat(text)
    except ValueError as exc:
        raise ValidationError(
            f"--since {text!r}: give a duration such as 24h or an ISO-8601 time", field="since"
        ) from exc
    return when if when.tzinfo else when.replace(tzinfo=UTC)


def usage_table(report: UsageReport) -> Table:
    table = Table(title="LLM usage per task")
    for column in ("task", "provider", "model", "calls", "failures", "tokens in", "tokens out", "cost $", "mean ms"):
        table.add_column(column, justify="left" if column in ("task", "provider", "model") else "right")
    for key, row in sorted(report.rows.items()):
        table.add_row(
            key.task,
            key.provider,
            key.model,
            str(row.calls),
            str(row.failures),
            f"{row.tokens_in:,}",
            f"{row.tokens_out:,}",
            f"{row.cost_usd:.4f}",
            f"{row.mean_latency_ms:.0f}",
        )
    return table


def usage(
    ctx: typer.Context,
    since: str = typer.Option(None, "--since", help="Only records since this long ago (24h, 7d) or this ISO time."),
    tenant: str = typer.Option(None, "--tenant", help="Only this tenant's calls."),
    as_json: bool = typer.Option(False, "--json", help="Print the report as JSON."),
) -> None:
    """LLM calls, tokens and cost per task and model, from the usage topic: what ran locally, what was paid."""
    settings = get_settings(ctx)
    with reported_errors():
        report = usage_report(settings.stream_context(), tenant_id=tenant, since=parse_since(since) if since else None)
    if as_json:
        console.print_json(json.dumps(report.as_dict()))
        return
    console.print(usage_table(report))
    console.print(
        f"local tokens {report.tokens(paid=False):,} · paid tokens {report.tokens(paid=True):,} "
        f"(${report.paid_cost_usd:.4f})" + (f" · {report.undecodable} undecodable" if report.undecodable else "")
    )


__all__ = ["parse_since", "usage", "usage_table"]
