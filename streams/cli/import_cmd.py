"""`memlane import FILE`: write a JSONL file of memories (memlane or Mem0 export) to the memories topic.

Each line is checked on its own; invalid lines are named (line and reason) and the valid ones are published
in batches of `MEMLANE_OFFLOAD__WRITE_MAX_BATCH`, under `MEMLANE_TENANT_ID` (or `--tenant`), as memory batches
of extractor "import". Memory ids are deterministic, so importing the same file again adds nothing: the
memory sink finds every memory unchanged. Exit codes: 0 every line written, 1 a batch was not acknowledged,
2 some lines were invalid (the valid ones were written; fix the others and import again).
"""

from __future__ import annotations

from pathlib import Path

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn
from rich.table import Table

from schemas.errors import DeliveryError, ValidationError
from streams.cli.context import EXIT_ERROR, EXIT_INVALID_INPUT, console, err_console, get_settings, reported_errors
from streams.ingest.memory_file import read_memory_file
from streams.wiring.stores import memory_writer

MAX_ERRORS_SHOWN = 20


def import_memories(
    ctx: typer.Context,
    file: Path = typer.Argument(..., help="JSONL file of memories (memlane MemoryInput or Mem0 export records)."),
    *,
    tenant: str = typer.Option(None, "--tenant", help="Tenant to write under (default: MEMLANE_TENANT_ID)."),
    progress: bool = typer.Option(True, help="Show a progress bar."),
) -> None:
    """Import memories from FILE: published to the memories topic, stored by the memory sink."""
    settings = get_settings(ctx)
    tenant_id = tenant or settings.tenant_id
    written = failed = 0
    with reported_errors():
        try:
            parsed = read_memory_file(file)
        except ValidationError as exc:
            err_console.print(f"[red]rejected:[/red] {exc}")
            raise typer.Exit(EXIT_INVALID_INPUT) from exc
        for line, message in parsed.errors[:MAX_ERRORS_SHOWN]:
            err_console.print(f"[red]rejected[/red] line {line}: {message}")
        if len(parsed.errors) > MAX_ERRORS_SHOWN:
            err_console.print(f"... and {len(parsed.errors) - MAX_ERRORS_SHOWN} more invalid line(s)")
        size = settings.offload.write_max_batch
        bar = Progress(TextColumn("importing"), BarColumn(), MofNCompleteColumn(), console=err_console)
        bar.disable = not progress
        with memory_writer(settings, extractor="import") as writer, bar:
            task = bar.add_task("memories", total=len(parsed.inputs))
            for start in range(0, len(parsed.inputs), size):
                chunk = parsed.inputs[start : start + size]
                try:
                    writer.write(tenant_id, [item for _line, item in chunk])
                    written += len(chunk)
                except DeliveryError as exc:
                    failed += len(chunk)
                    err_console.print(f"[red]not written[/red] lines {chunk[0][0]}-{chunk[-1][0]}: {exc}")
                bar.advance(task, len(chunk))
    table = Table(title=f"import summary (tenant {tenant_id})")
    for column in ("lines", "written", "rejected", "failed"):
        table.add_column(column)
    table.add_row(*(str(n) for n in (len(parsed.inputs) + len(parsed.errors), written, len(parsed.errors), failed)))
    console.print(table)
    if failed:
        raise typer.Exit(EXIT_ERROR)
    if parsed.errors:
        raise typer.Exit(EXIT_INVALID_INPUT)


__all__ = ["import_memories"]
