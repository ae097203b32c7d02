"""`ensure_broker`: use the broker that answers at the configured address, or start a local one for a while.

Benchmarks, `make run` and the test session call this: when nothing answers, a local broker is
started from `infra/` and stopped again on exit, leaving the machine as it was found.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager

import structlog

from streams.broker.local import LocalBroker
from streams.broker.probe import broker_answers
from streams.settings import Settings

log = structlog.get_logger(__name__)


@contextmanager
def ensure_broker(settings: Settings, *, probe_timeout: float = 3.0) -> Iterator[Settings]:
    """Yield settings whose `kafka_bootstrap` answers; start (and later stop) a local broker if needed."""
    extra = {key: value for key, value in settings.kafka_config().items() if key != "bootstrap.servers"}
    if broker_answers(settings.kafka_bootstrap, timeout=probe_timeout, extra_conf=extra):
        yield settings
        return
    broker = LocalBroker(settings.broker)
    was_running = broker.pid() is not None
    status = broker.start()
    log.info("broker.ensure", bootstrap=status.bootstrap, started_here=not was_running, startup_s=status.startup_s)
    try:
        yield settings.model_copy(update={"kafka_bootstrap": status.bootstrap})
    finally:
        if not was_running:
            gc.collect()  # let idle Kafka clients of this process go before their broker does
            broker.stop()


__all__ = ["broker_answers", "ensure_broker"]
