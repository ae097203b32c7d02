"""`memlane verify`: account for every published turn, request and memory (`streams.verifier`).

Prints per-stage counts, every discrepancy with its topic/partition/offset, and one verdict line
(`ALL-TURNS-ACCOUNTED`, or what is lost or duplicated). Exit codes: 0 all accounted, 1 discrepancies.
"""

from __future__ import annotations

import json
from datetime import datetime

import typer
from rich.table import Table

from streams.cli.context import EXIT_ERROR, console, err_console, get_settings, reported_errors
from streams.verifier import VerifyReport
from streams.wiring.accounting import verify_deployment
from streams.wiring.stores import blob_store, reading_store

SHOWN = 50


def _print(report: VerifyReport) -> None:
    table = Table(title="accounting")
    table.add_column("stage")
    table.add_column("count", justify="right")
    rows = [
        ("turns", report.turns),
        ("  skipped with a reason", report.turns_skipped),
        ("  in extraction requests", report.turns_in_requests),
        ("  quarantined", report.turns_quarantined),
        ("  pending (not processed yet)", report.turns_pending),
        ("  waiting in an open window (processors' state)", report.turns_in_open_windows),
        ("  LOST", report.turns_lost),
        ("  DUPLICATED", report.turns_duplicated),
        ("requests", report.requests),
        ("  extracted (memory batch)", report.requests_extracted),
        ("  parked in the DLQ", report.requests_parked),
        ("  quarantined", report.requests_quarantined),
        ("  pending", report.requests_pending),
        ("  LOST", report.requests_lost),
        ("memory batches", report.memory_batches),
        ("label batches (labeller)", report.label_batches),
        ("memories", report.memories),
        ("  stored", report.memories_stored),
        ("  pending", report.memories_pending),
        ("  MISSING", report.memories_missing),
        ("memory ids stored twice", report.memory_ids_twice),
        ("window blobs missing", report.windows_missing),
        ("usage records missing", report.usage_missing),
    ]
    for stage, count in rows:
        table.add_row(stage, str(count))
    console.print(table)
    for item in report.discrepancies[:SHOWN]:
        err_console.print(f"{item.kind}: {item.topic}/{item.partition}@{item.offset}: {item.detail}")
    if len(report.discrepancies) > SHOWN:
        err_console.print(f"... and {len(report.discrepancies) - SHOWN} more")


def verify_cmd(
    ctx: typer.Context,
    since: datetime = typer.Option(None, "--since", help="Only what was published at or after this time (ISO 8601)."),
    tenant: str = typer.Option(None, "--tenant", help="Only this tenant's turns, requests and memories."),
    as_json: bool = typer.Option(False, "--json", help="Print the report as JSON."),
) -> None:
    """Prove every published turn is accounted for: skipped, in one request, or quarantined; and what follows."""
    settings = get_settings(ctx)
    with reported_errors(), blob_store(settings) as blobs, reading_store(settings) as store:
        report = verify_deployment(settings, store=store, blobs=blobs, tenant_id=tenant, since=since)
    if as_json:
        console.print_json(json.dumps(report.as_dict(), default=str))
    else:
        _print(report)
    console.print(report.verdict)
    if not report.ok:
        raise typer.Exit(EXIT_ERROR)
