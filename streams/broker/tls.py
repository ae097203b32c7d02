"""The local broker's TLS material: a CA of its own and a server certificate for 127.0.0.1, made once.

`ensure_tls(directory)` writes, when they are missing, `ca.crt` (the CA clients trust:
`MEMLANE_SSL_CA_LOCATION`), `ca.key`, and `broker.pem` (the broker's PKCS#8 key followed by its
certificate, the PEM keystore Kafka reads). The certificate names `127.0.0.1`, `::1` and `localhost`, so
hostname verification holds for librdkafka and for Python's `ssl` (aiokafka). Keys are written 0600.
Made with the `cryptography` package (the `auth` extra).
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import os
from dataclasses import dataclass
from pathlib import Path

from schemas.errors import BrokerError

VALID_DAYS = 825
"""How long the generated certificates are valid (the longest a server certificate is commonly accepted)."""


@dataclass(frozen=True)
class BrokerTls:
    """Where the broker's TLS files live."""

    directory: Path

    @property
    def ca_path(self) -> Path:
        return self.directory / "ca.crt"

    @property
    def ca_key_path(self) -> Path:
        return self.directory / "ca.key"

    @property
    def keystore_path(self) -> Path:
        return self.directory / "broker.pem"

    def present(self) -> bool:
        return self.ca_path.is_file() and self.keystore_path.is_file()


def _write_private(path: Path, data: bytes) -> None:
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "wb") as out:
        out.write(data)


def ensure_tls(directory: Path) -> BrokerTls:
    """The broker's CA and certificate in `directory`, generated on first use and kept after."""
    tls = BrokerTls(directory)
    if tls.present():
        return tls
    try:
        from cryptography import x509
        from cryptography.hazmat.primitives import hashes, serialization
        from cryptography.hazmat.primitives.asymmetric import ec
        from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
    except ImportError as exc:  # pragma: no cover - depends on the installation
        raise BrokerError("the broker's TLS needs the cryptography package: pip install 'memlane[auth]'") from exc
    directory.mkdir(parents=True, exist_ok=True)
    now = dt.datetime.now(dt.UTC) - dt.timedelta(minutes=5)
    until = now + dt.timedelta(days=VALID_DAYS)

    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "memlane local broker CA")])
    ca_cert = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now)
        .not_valid_after(until)
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=False,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .sign(ca_key, hashes.SHA256())
    )

    key = ec.generate_private_key(ec.SECP256R1())
    names = [
        x509.DNSName("localhost"),
        x509.IPAddress(ipaddress.ip_address("127.0.0.1")),
        x509.IPAddress(ipaddress.ip_address("::1")),
    ]
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")]))
        .issuer_name(ca_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now)
        .not_valid_after(until)
        .add_extension(x509.SubjectAlternativeName(names), critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.CLIENT_AUTH]),
            critical=False,
        )
        .sign(ca_key, hashes.SHA256())
    )

    pem = serialization.Encoding.PEM
    pkcs8 = serialization.PrivateFormat.PKCS8
    plain = serialization.NoEncryption()
    _write_private(tls.ca_key_path, ca_key.private_bytes(pem, pkcs8, plain))
    _write_private(tls.keystore_path, key.private_bytes(pem, pkcs8, plain) + cert.public_bytes(pem))
    tls.ca_path.write_bytes(ca_cert.public_bytes(pem))
    return tls


__all__ = ["VALID_DAYS", "BrokerTls", "ensure_tls"]
