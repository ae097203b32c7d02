"""`ensure_broker`: use the broker that answers at the configured address, or start a local one for a while.

Benchmarks, `make run` and the test session call this: when nothing answers, a local broker is
started from `infra/` and stopped again on exit, leaving the machine as it was found.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import structlog

from streams.broker.broker_settings import BrokerSettings
from streams.broker.local import LocalBroker
from streams.broker.probe import broker_answers
from streams.kafka.connection import KafkaConnection

log = structlog.get_logger(__name__)


@contextmanager
def ensure_broker(
    kafka: KafkaConnection, broker: BrokerSettings, *, probe_timeout: float = 3.0
) -> Iterator[KafkaConnection]:
    """Yield a connection whose servers answer; start (and later stop) a local broker if none does."""
    extra = {key: value for key, value in kafka.as_librdkafka_dict().items() if key != "bootstrap.servers"}
    if broker_answers(kafka.bootstrap_servers, timeout=probe_timeout, extra_conf=extra):
        yield kafka
        return
    local = LocalBroker(broker, client=kafka)
    was_running = local.pid() is not None
    status = local.start()
    log.info("broker.ensure", bootstrap=status.bootstrap, started_here=not was_running, startup_s=status.startup_s)
    started = kafka.with_bootstrap(status.bootstrap)
    if status.ca_location is not None and kafka.ssl_ca_location is None:  # trust the local broker's own CA
        started = started.model_copy(update={"ssl_ca_location": Path(status.ca_location)})
    try:
        yield started
    finally:
        if not was_running:
            gc.collect()  # let idle Kafka clients of this process go before their broker does
            local.stop()


__all__ = ["ensure_broker"]
