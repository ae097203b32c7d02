"""Shared CLI plumbing: settings from the environment, error reporting, exit codes."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import pydantic
import typer
from confluent_kafka import KafkaException
from pydantic_settings import SettingsError
from rich.console import Console
from rich.markup import escape

from schemas.errors import MemlaneError
from streams.cli.config_errors import describe
from streams.logs import configure_logging
from streams.settings import Settings

console = Console()
err_console = Console(stderr=True, soft_wrap=True)

EXIT_ERROR = 1
EXIT_INVALID_INPUT = 2


def settings_from_context(ctx: typer.Context | None = None) -> Settings:
    if ctx is not None and isinstance(ctx.obj, Settings):
        return ctx.obj
    try:
        settings = Settings()
    except pydantic.ValidationError as exc:
        for line in describe(exc):
            err_console.print(f"[red]configuration error:[/red] {escape(line)}", highlight=False)
        raise typer.Exit(EXIT_INVALID_INPUT) from None
    except SettingsError as exc:  # a value that is not the JSON a nested setting needs
        err_console.print(f"[red]configuration error:[/red] {escape(_without_values(str(exc)))}", highlight=False)
        raise typer.Exit(EXIT_INVALID_INPUT) from None
    except MemlaneError as exc:
        err_console.print(f"[red]configuration error:[/red] {escape(str(exc))}", highlight=False)
        raise typer.Exit(EXIT_INVALID_INPUT) from None
    configure_logging(
        settings.log_level, json_lines=settings.log_json, third_party_debug=settings.log_third_party_debug
    )
    return settings


def _without_values(message: str) -> str:
    """pydantic-settings names the field and the source; anything after a colon may quote the value."""
    return message.split(":", 1)[0]


def get_settings(ctx: typer.Context) -> Settings:
    obj = ctx.find_root().obj
    return obj if isinstance(obj, Settings) else settings_from_context(None)


@contextmanager
def reported_errors() -> Iterator[None]:
    """Turn memlane errors, and Kafka client errors (a broker that does not answer), into a one-line message and
    a non-zero exit code."""
    try:
        yield
    except MemlaneError as exc:
        err_console.print(f"[red]error:[/red] {type(exc).__name__}: {exc}")
        raise typer.Exit(EXIT_ERROR) from exc
    except KafkaException as exc:
        error = exc.args[0] if exc.args else exc
        detail = error.str() if hasattr(error, "str") else str(error)
        err_console.print(
            f"[red]error:[/red] Kafka: {escape(detail)} (is the broker at MEMLANE_KAFKA_BOOTSTRAP running? "
            "`memlane broker status`)"
        )
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
