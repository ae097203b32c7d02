"""`memlane worker processors`: change detection, dedupe and priority scoring as a faust-streaming worker.

Turns in (`memlane.turns.v1`), extraction requests and skip records out, undecodable turns to quarantine;
per-conversation state in a RocksDB table with a changelog topic. Start as many as there are partitions to
share: they form one consumer group (`MEMLANE_PROCESSOR_APP__APP_ID`), each with its own
`MEMLANE_PROCESSOR_APP__DATA_DIR` when they share a machine. Also runnable as
`python -m streams.workers.processors [--idle-exit SECONDS]`. With `MEMLANE_METRICS_PORT` set, `/metrics` serves
the `memlane_*` counters (turns in, skipped by stage and reason, requests out, tokens seen and forwarded,
quarantined). The app lives in `streams.processor_app`.
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence

from streams.logs import configure_logging
from streams.metrics import serve_metrics
from streams.processor_app.worker import run_worker
from streams.settings import Settings


def run(settings: Settings, *, idle_exit_s: float | None = None) -> None:
    """Runs the processors worker until stopped, or until idle for `idle_exit_s` with nothing pending."""
    run_worker(settings, idle_exit_s=idle_exit_s)


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m streams.workers.processors", description=__doc__)
    parser.add_argument("--idle-exit", type=float, default=None, help="exit after this many idle seconds")
    args = parser.parse_args(argv)
    settings = Settings()
    configure_logging(settings.log_level, json_lines=settings.log_json)
    serve_metrics(settings.metrics_port)
    run(settings, idle_exit_s=args.idle_exit)


if __name__ == "__main__":
    main()


__all__ = ["main", "run"]
