"""A broker that answers: the configured one, or the local one from `infra/` started for a while."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from streams.broker import LocalBroker, ensure_broker
from streams.settings import Settings


def local_broker(settings: Settings) -> LocalBroker:
    """The local broker of this state directory."""
    return LocalBroker(settings.broker_settings(), client=settings.kafka)


@contextmanager
def live_broker(settings: Settings) -> Iterator[Settings]:
    """Yield settings whose bootstrap servers answer: started here (and stopped after) when none does."""
    with ensure_broker(settings.kafka, settings.broker_settings()) as kafka:
        found = {"kafka_bootstrap": kafka.bootstrap_servers, "ssl_ca_location": kafka.ssl_ca_location}
        changed = {name: value for name, value in found.items() if getattr(settings, name) != value}
        yield settings.model_copy(update=changed) if changed else settings


__all__ = ["live_broker", "local_broker"]
