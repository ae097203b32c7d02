"""How a Kafka client reaches the cluster: `KafkaConnection`, the one thing every runtime client is given.

It holds the bootstrap servers, the security protocol and its SASL / TLS material, and the client id; nothing
else of the application's settings reaches the runtime. `as_librdkafka_dict()` renders the librdkafka
configuration every consumer, producer and admin client starts from (secrets unwrapped only there);
`redacted()` is what may be logged.

It also carries the one size policy (`max_message_bytes`): the largest message any memlane producer (confluent
and faust) sends, from which the topics' `max.message.bytes` and the largest value memlane itself writes
(`value_limit`, leaving room for key, headers and batch overhead) are derived.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, model_validator

from schemas.errors import ConfigError

SecurityProtocol = Literal["PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL"]
SaslMechanism = Literal["PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512", "OAUTHBEARER"]

HEADROOM_BYTES = 64 * 1024
"""What a value memlane writes leaves of `max_message_bytes`: key, headers (error headers of a parked copy) and
record-batch overhead."""
TOPIC_OVERHEAD_BYTES = 16 * 1024
"""A topic accepts this much above `max_message_bytes`: the record-batch framing around one message."""


class KafkaConnection(BaseModel):
    """Bootstrap servers plus security: enough for any librdkafka or aiokafka client to connect."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    bootstrap_servers: str = "127.0.0.1:9092"
    security_protocol: SecurityProtocol = "PLAINTEXT"
    sasl_mechanism: SaslMechanism | None = None
    sasl_username: str | None = None
    sasl_password: SecretStr | None = None
    ssl_ca_location: Path | None = None
    ssl_certificate_location: Path | None = None
    ssl_key_location: Path | None = None
    ssl_key_password: SecretStr | None = None
    client_id: str = "memlane"
    max_message_bytes: int = Field(default=1_000_000, ge=4 * HEADROOM_BYTES)
    delivery_timeout_s: float = Field(default=120.0, gt=0)
    """How long a producer retries a message before it reports it undelivered (`message.timeout.ms`)."""
    session_timeout_s: float | None = Field(default=None, ge=6.0, le=300.0)
    """How long a consumer group waits for a silent member (one killed) before its partitions move on
    (`session.timeout.ms`); None keeps the consumers' default of 30 s. The broker allows 6..300 s."""
    """The largest message a memlane producer sends (`message.max.bytes`, faust's `producer_max_request_size`)."""

    @property
    def value_limit(self) -> int:
        """The largest value memlane writes itself: bigger content goes to the blob store by claim check."""
        return self.max_message_bytes - HEADROOM_BYTES

    @property
    def topic_max_message_bytes(self) -> int:
        """The `max.message.bytes` of every memlane topic."""
        return self.max_message_bytes + TOPIC_OVERHEAD_BYTES

    @model_validator(mode="after")
    def _check_security(self) -> KafkaConnection:
        if self.security_protocol.startswith("SASL") and self.sasl_mechanism is None:
            raise ConfigError(f"MEMLANE_SECURITY_PROTOCOL={self.security_protocol} needs MEMLANE_SASL_MECHANISM")
        if self.sasl_mechanism in ("PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512") and (
            not self.sasl_username or self.sasl_password is None
        ):
            raise ConfigError(f"SASL {self.sasl_mechanism} needs MEMLANE_SASL_USERNAME and MEMLANE_SASL_PASSWORD")
        return self

    @property
    def servers(self) -> list[str]:
        """The bootstrap servers one by one."""
        return [server.strip() for server in self.bootstrap_servers.split(",") if server.strip()]

    def with_bootstrap(self, bootstrap_servers: str) -> KafkaConnection:
        """The same security, other servers (a local broker started on a free port)."""
        return self.model_copy(update={"bootstrap_servers": bootstrap_servers})

    def as_librdkafka_dict(self, **overrides: Any) -> dict[str, Any]:
        """The librdkafka settings every memlane client starts from, plus `overrides`."""
        conf: dict[str, Any] = {
            "bootstrap.servers": self.bootstrap_servers,
            "security.protocol": self.security_protocol,
            "client.id": self.client_id,
        }
        if self.sasl_mechanism:
            conf["sasl.mechanism"] = self.sasl_mechanism
        if self.sasl_username:
            conf["sasl.username"] = self.sasl_username
        if self.sasl_password is not None:
            conf["sasl.password"] = self.sasl_password.get_secret_value()
        if self.ssl_ca_location:
            conf["ssl.ca.location"] = str(self.ssl_ca_location)
        if self.ssl_certificate_location:
            conf["ssl.certificate.location"] = str(self.ssl_certificate_location)
        if self.ssl_key_location:
            conf["ssl.key.location"] = str(self.ssl_key_location)
        if self.ssl_key_password is not None:
            conf["ssl.key.password"] = self.ssl_key_password.get_secret_value()
        conf.update(overrides)
        return conf


__all__ = ["HEADROOM_BYTES", "TOPIC_OVERHEAD_BYTES", "KafkaConnection", "SaslMechanism", "SecurityProtocol"]
