"""Does the cluster accept this connection's login? Asked once, before a client that would otherwise wait.

librdkafka reports a refused SASL login only through `error_cb` (a metadata request just times out with
"broker transport failure"), so `check_credentials` watches for it and raises at once, naming the settings
to check and never their values. PLAINTEXT and SSL connections are not asked.
"""

from __future__ import annotations

import time

from confluent_kafka import KafkaError, KafkaException
from confluent_kafka.admin import AdminClient

from schemas.errors import BrokerError
from streams.kafka.connection import KafkaConnection


def check_credentials(kafka: KafkaConnection, timeout: float = 30.0) -> None:
    """Raise `BrokerError` as soon as the broker refuses the SASL login; return once it answers (or `timeout`)."""
    if not kafka.security_protocol.startswith("SASL"):
        return
    refused: list[str] = []

    def on_error(error: KafkaError) -> None:
        if error.code() == KafkaError._AUTHENTICATION:
            refused.append(error.str())

    admin = AdminClient(kafka.as_librdkafka_dict(error_cb=on_error))
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            admin.list_topics(timeout=1.0)
            return
        except KafkaException:
            admin.poll(0.1)  # serves error_cb
            if refused:
                raise BrokerError(
                    f"the broker refuses the login ({refused[0]}); check MEMLANE_SASL_USERNAME / "
                    "MEMLANE_SASL_PASSWORD, MEMLANE_SASL_MECHANISM and MEMLANE_SECURITY_PROTOCOL"
                ) from None


__all__ = ["check_credentials"]
