"""`memlane settings [--markdown FILE]`: every setting with its variable, type, default and description."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.table import Table

from streams.cli.context import console, err_console
from streams.settings_reference import markdown, setting_docs


def settings_cmd(
    markdown_file: Path | None = typer.Option(
        None, "--markdown", help="Write the reference as Markdown here (docs/settings.md) instead of printing it."
    ),
) -> None:
    """The settings reference, read from the Settings model (MEMLANE_* variables)."""
    if markdown_file is not None:
        markdown_file.write_text(markdown(), encoding="utf-8")
        err_console.print(f"wrote {markdown_file}")
        return
    table = Table(title="settings (MEMLANE_*)")
    for column in ("variable", "type", "default", "description"):
        table.add_column(column, overflow="fold")
    for doc in setting_docs():
        table.add_row(doc.variable, doc.type, doc.default, doc.description)
    console.print(table)


__all__ = ["settings_cmd"]
