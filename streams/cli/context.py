"""Shared CLI plumbing: settings from the environment, error reporting, exit codes."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import typer
from rich.console import Console

from schemas.errors import MemlaneError
from streams.logs import configure_logging
from streams.settings import Settings

console = Console()
err_console = Console(stderr=True)

EXIT_ERROR = 1
EXIT_INVALID_INPUT = 2


def settings_from_context(ctx: typer.Context | None = None) -> Settings:
    if ctx is not None and isinstance(ctx.obj, Settings):
        return ctx.obj
    try:
        settings = Settings()
    except MemlaneError as exc:
        err_console.print(f"[red]configuration error:[/red] {exc}")
        raise typer.Exit(EXIT_ERROR) from exc
    configure_logging(settings.log_level, json_lines=settings.log_json)
    return settings


def get_settings(ctx: typer.Context) -> Settings:
    obj = ctx.find_root().obj
    return obj if isinstance(obj, Settings) else settings_from_context(None)


@contextmanager
def reported_errors() -> Iterator[None]:
    """Turn memlane errors into a one-line message and a non-zero exit code."""
    try:
        yield
    except MemlaneError as exc:
        err_console.print(f"[red]error:[/red] {type(exc).__name__}: {exc}")
        raise typer.Exit(EXIT_ERROR) from exc


__all__ = [
    "EXIT_ERROR",
    "EXIT_INVALID_INPUT",
    "console",
    "err_console",
    "get_settings",
    "reported_errors",
    "settings_from_context",
]
