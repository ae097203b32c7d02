"""Is a Kafka broker answering at a bootstrap address? A TCP check, then a metadata request."""

from __future__ import annotations

import socket
import time
from typing import Any

from confluent_kafka import KafkaException
from confluent_kafka.admin import AdminClient


def _tcp_open(bootstrap: str) -> bool:
    for server in bootstrap.split(","):
        host, _, port = server.strip().rpartition(":")
        try:
            with socket.create_connection((host or "127.0.0.1", int(port)), timeout=1.0):
                return True
        except (OSError, ValueError):
            continue
    return False


def broker_answers(bootstrap: str, timeout: float = 5.0, extra_conf: dict[str, Any] | None = None) -> bool:
    """True when a broker at `bootstrap` returns cluster metadata within `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while not _tcp_open(bootstrap):
        if time.monotonic() >= deadline:
            return False
        time.sleep(0.2)
    admin = AdminClient({"bootstrap.servers": bootstrap, "socket.timeout.ms": 3000, **(extra_conf or {})})
    remaining = max(0.5, deadline - time.monotonic())
    try:
        metadata = admin.list_topics(timeout=remaining)
    except KafkaException:
        return False
    return bool(metadata.brokers)


__all__ = ["broker_answers"]
