"""Who is asking: API keys -> tenants, and which blobs a tenant may read.

`Settings.api_keys` maps each key to a tenant id (`MEMLANE_API_KEYS='{"key": "acme"}'`). A request
names its key as `Authorization: Bearer <key>` or `X-API-Key: <key>`:

    no key at all                          401  (with `WWW-Authenticate: Bearer`)
    another Authorization scheme           401
    both headers, with different keys      400
    a key that maps to no tenant           403

Keys are compared in constant time. Every memory query is then scoped to the resolved tenant by the
memory store itself. Blobs are content-addressed and shared, so a tenant may read a blob only when
it carries the tenant's referrer `tenant:<tenant_id>` (the blob sink adds it to each window it stores
and to the offloaded contents that window refers to); any other blob is reported as not found.
"""

from __future__ import annotations

import hmac
from collections.abc import Mapping
from dataclasses import dataclass

from schemas.errors import MemlaneError
from sinks.blobstore import BlobStore
from sinks.blobstore.keys import TENANT_REFERRER_PREFIX, tenant_referrer

API_KEY_HEADER = "X-API-Key"


class AuthError(MemlaneError):
    """A request's credentials are missing, malformed or unknown; `status` is the HTTP status to answer."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def _bearer_token(authorization: str) -> str:
    scheme, _, token = authorization.strip().partition(" ")
    if scheme.lower() != "bearer":
        raise AuthError(401, f"unsupported Authorization scheme {scheme[:20]!r}: use 'Authorization: Bearer <key>'")
    token = token.strip()
    if not token:
        raise AuthError(401, "empty bearer token: use 'Authorization: Bearer <key>'")
    return token


@dataclass(frozen=True)
class ApiKeys:
    """The configured keys and the tenant each one opens."""

    tenants_by_key: Mapping[str, str]

    def presented_key(self, authorization: str | None, x_api_key: str | None) -> str:
        """The key a request presents, from either header; raises `AuthError` when there is none."""
        from_bearer = _bearer_token(authorization) if authorization else None
        from_header = x_api_key.strip() if x_api_key and x_api_key.strip() else None
        if from_bearer and from_header and not hmac.compare_digest(from_bearer, from_header):
            raise AuthError(400, f"two different API keys sent: use either Authorization or {API_KEY_HEADER}")
        key = from_bearer or from_header
        if key is None:
            raise AuthError(401, f"missing API key: send 'Authorization: Bearer <key>' or '{API_KEY_HEADER}: <key>'")
        return key

    def tenant_for(self, key: str) -> str:
        """The tenant of `key`; every configured key is compared, in constant time."""
        found: str | None = None
        presented = key.encode("utf-8", "surrogateescape")
        for known, tenant in self.tenants_by_key.items():
            if hmac.compare_digest(presented, known.encode("utf-8", "surrogateescape")):
                found = tenant
        if found is None:
            raise AuthError(403, "API key not recognised")
        return found

    def resolve(self, authorization: str | None, x_api_key: str | None) -> str:
        """The tenant of the request whose headers are given."""
        return self.tenant_for(self.presented_key(authorization, x_api_key))


def blob_visible(blobs: BlobStore, sha256: str, tenant_id: str) -> bool:
    """True when the (validated, existing) blob `sha256` carries `tenant_id`'s referrer."""
    return tenant_referrer(tenant_id) in blobs.referrers(sha256)


__all__ = [
    "API_KEY_HEADER",
    "TENANT_REFERRER_PREFIX",
    "ApiKeys",
    "AuthError",
    "blob_visible",
    "tenant_referrer",
]
