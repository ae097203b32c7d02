"""Structured logging for every memlane process (structlog over the standard library).

Console output for people by default, one JSON object per line with `MEMLANE_LOG_JSON=true`.
Settings and secrets are never logged raw: log `settings.safe_dump()` if anything.
"""

from __future__ import annotations

import logging
import sys

import structlog


class _StderrLogger:
    """Writes each rendered line to whatever `sys.stderr` is now (CLI runners swap it)."""

    def msg(self, message: str) -> None:
        print(message, file=sys.stderr, flush=True)

    log = debug = info = warning = warn = error = critical = exception = fatal = msg


def _stderr_logger(*_args: object) -> _StderrLogger:
    return _StderrLogger()


THIRD_PARTY = (
    "anthropic",
    "ollama",
    "httpx",
    "httpx2",
    "httpcore",
    "urllib3",
    "faust",
    "mode",
    "aiokafka",
    "uvicorn",
    "qdrant_client",
)
"""Libraries whose DEBUG logs may carry conversation content (the Anthropic SDK logs whole requests)."""


def configure_logging(level: str = "INFO", *, json_lines: bool = False, third_party_debug: bool = False) -> None:
    """Configure structlog and stdlib logging once per process; logs go to stderr.

    Third-party loggers stay at INFO or above unless `third_party_debug` asks for their DEBUG output (it can
    hold prompts and conversation content); the HTTP clients stay at WARNING (a line per call is noise).
    """
    numeric = logging.getLevelName(level.upper())
    if not isinstance(numeric, int):
        numeric = logging.INFO
    logging.basicConfig(level=numeric, stream=sys.stderr, format="%(message)s")
    floor = numeric if third_party_debug else max(numeric, logging.INFO)
    for name in THIRD_PARTY:
        logging.getLogger(name).setLevel(floor)
    for chatty in ("httpx", "httpx2", "httpcore"):  # one line per HTTP call is noise at INFO
        logging.getLogger(chatty).setLevel(max(floor, logging.WARNING))
    renderer: structlog.types.Processor = (
        structlog.processors.JSONRenderer() if json_lines else structlog.dev.ConsoleRenderer(colors=False)
    )
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            structlog.processors.StackInfoRenderer(),
            structlog.processors.format_exc_info,
            renderer,
        ],
        wrapper_class=structlog.make_filtering_bound_logger(numeric),
        logger_factory=_stderr_logger,
        cache_logger_on_first_use=True,
    )


__all__ = ["THIRD_PARTY", "configure_logging"]
