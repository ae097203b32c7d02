"""SASL/SCRAM-SHA-512 over TLS for the local broker (`memlane broker start --auth scram`).

With `MEMLANE_BROKER__AUTH=scram` the client listener is `SASL_SSL` (the certificate of `streams.broker.tls`,
mechanism SCRAM-SHA-512); the controller listener stays PLAINTEXT on loopback. Two SCRAM users exist:

* `memlane-broker`, the broker's own (inter-broker traffic, and the super user this module administers the
  broker with). Its password is generated at format time, kept 0600 in the data directory
  (`scram-broker.secret`) and given to `kafka-storage format --add-scram`;
* the client user of the settings (`MEMLANE_SASL_USERNAME` / `MEMLANE_SASL_PASSWORD`), upserted through the
  admin API each time the broker starts, so the settings stay the source of truth for it.

No secret is passed to a log: the broker's configuration marks JAAS as a password (Kafka prints it `[hidden]`),
and the errors raised here name variables, never values.
"""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from confluent_kafka import KafkaException
from confluent_kafka.admin import AdminClient, ScramCredentialInfo, ScramMechanism, UserScramCredentialUpsertion

from schemas.errors import BrokerError
from streams.broker.tls import BrokerTls, ensure_tls
from streams.kafka.connection import KafkaConnection

BrokerAuth = Literal["none", "scram"]
BROKER_USER = "memlane-broker"
MECHANISM = "SCRAM-SHA-512"
SCRAM_ITERATIONS = 8192


@dataclass(frozen=True)
class ScramListener:
    """The SCRAM-over-TLS listener of one broker data directory."""

    data_dir: Path

    @property
    def tls(self) -> BrokerTls:
        return BrokerTls(self.data_dir / "tls")

    @property
    def secret_path(self) -> Path:
        return self.data_dir / "scram-broker.secret"

    # -- format time ---------------------------------------------------------------------------
    def prepare(self) -> list[str]:
        """Make the TLS material and the broker's password; the `kafka-storage format` arguments adding it."""
        ensure_tls(self.tls.directory)
        if not self.secret_path.exists():
            descriptor = os.open(self.secret_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(descriptor, "w") as out:
                out.write(secrets.token_urlsafe(24))
        return ["--add-scram", f"{MECHANISM}=[name={BROKER_USER},password={self._broker_password()}]"]

    def _broker_password(self) -> str:
        try:
            return self.secret_path.read_text().strip()
        except OSError as exc:
            raise BrokerError(f"the broker's SCRAM secret is missing from {self.data_dir}: format it anew") from exc

    # -- configuration -------------------------------------------------------------------------
    def server_properties(self, port: int, controller_port: int) -> dict[str, str]:
        """The broker configuration lines that replace the PLAINTEXT client listener."""
        tls = self.tls
        jaas = (
            "org.apache.kafka.common.security.scram.ScramLoginModule required "
            f'username="{BROKER_USER}" password="{self._broker_password()}";'
        )
        return {
            "listeners": f"SASL_SSL://127.0.0.1:{port},CONTROLLER://127.0.0.1:{controller_port}",
            "advertised.listeners": f"SASL_SSL://127.0.0.1:{port}",
            "inter.broker.listener.name": "SASL_SSL",
            "listener.security.protocol.map": "SASL_SSL:SASL_SSL,CONTROLLER:PLAINTEXT",
            "sasl.enabled.mechanisms": MECHANISM,
            "sasl.mechanism.inter.broker.protocol": MECHANISM,
            f"listener.name.sasl_ssl.{MECHANISM.lower()}.sasl.jaas.config": jaas,
            "super.users": f"User:{BROKER_USER}",
            "ssl.keystore.type": "PEM",
            "ssl.keystore.location": str(tls.keystore_path),
            "ssl.truststore.type": "PEM",
            "ssl.truststore.location": str(tls.ca_path),
            "ssl.endpoint.identification.algorithm": "https",
        }

    def admin_conf(self) -> dict[str, Any]:
        """librdkafka settings of the broker's own user (probes and administration)."""
        return {
            "security.protocol": "SASL_SSL",
            "sasl.mechanism": MECHANISM,
            "sasl.username": BROKER_USER,
            "sasl.password": self._broker_password(),
            "ssl.ca.location": str(self.tls.ca_path),
        }

    # -- after start -----------------------------------------------------------------------------
    @staticmethod
    def check_client(client: KafkaConnection | None) -> None:
        """Refuse, before the broker starts, settings whose clients could not connect to it."""
        if client is None:
            return
        if client.sasl_username is None or client.sasl_password is None:
            raise BrokerError("auth scram lets in the user of MEMLANE_SASL_USERNAME / MEMLANE_SASL_PASSWORD: set both")
        if client.sasl_mechanism != MECHANISM or client.security_protocol != "SASL_SSL":
            raise BrokerError(
                "the local broker with auth scram speaks SASL_SSL with SCRAM-SHA-512: set "
                "MEMLANE_SECURITY_PROTOCOL=SASL_SSL and MEMLANE_SASL_MECHANISM=SCRAM-SHA-512"
            )
        if client.sasl_username == BROKER_USER:
            raise BrokerError(f"MEMLANE_SASL_USERNAME may not be {BROKER_USER}, the broker's own user")

    # -- after start -----------------------------------------------------------------------------
    def admit(self, bootstrap: str, client: KafkaConnection | None) -> str | None:
        """Create or update the settings' SCRAM user; returns its name (None when there is none to admit)."""
        self.check_client(client)
        if client is None or client.sasl_username is None or client.sasl_password is None:
            return None
        admin = AdminClient({"bootstrap.servers": bootstrap, **self.admin_conf()})
        upsert = UserScramCredentialUpsertion(
            client.sasl_username,
            ScramCredentialInfo(ScramMechanism.SCRAM_SHA_512, SCRAM_ITERATIONS),
            client.sasl_password.get_secret_value().encode(),
        )
        futures = admin.alter_user_scram_credentials([upsert], request_timeout=30)
        try:
            for future in futures.values():
                future.result(timeout=30)
        except KafkaException as exc:
            raise BrokerError(f"could not create the SCRAM user MEMLANE_SASL_USERNAME names: {exc.args[0]}") from exc
        return client.sasl_username


__all__ = ["BROKER_USER", "MECHANISM", "BrokerAuth", "ScramListener"]
