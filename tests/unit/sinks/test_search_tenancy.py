"""API keys -> tenants: which header forms are read, which statuses each failure gets, blob visibility."""

from __future__ import annotations

from pathlib import Path

import pytest

from sinks.blobstore import BlobStore
from sinks.search import ApiKeys, AuthError, blob_visible, tenant_referrer

KEYS = ApiKeys({"k-acme": "acme", "k-globex": "globex", "k-also-acme": "acme"})


@pytest.mark.parametrize(
    ("authorization", "x_api_key", "tenant"),
    [
        ("Bearer k-acme", None, "acme"),
        ("bearer   k-globex  ", None, "globex"),
        (None, "k-also-acme", "acme"),
        (None, " k-globex ", "globex"),
        ("Bearer k-acme", "k-acme", "acme"),
    ],
)
def test_keys_resolve_to_their_tenant(authorization: str | None, x_api_key: str | None, tenant: str) -> None:
    assert KEYS.resolve(authorization, x_api_key) == tenant


@pytest.mark.parametrize(
    ("authorization", "x_api_key", "status", "says"),
    [
        (None, None, 401, "missing API key"),
        (None, "   ", 401, "missing API key"),
        ("Basic dXNlcjpwdw==", None, 401, "unsupported Authorization scheme"),
        ("Bearer", None, 401, "empty bearer token"),
        ("k-acme", None, 401, "unsupported Authorization scheme"),
        ("Bearer k-acme", "k-globex", 400, "two different API keys"),
        ("Bearer K-ACME", None, 403, "not recognised"),
        (None, "k-acme ", 200, ""),
        (None, "k-ac", 403, "not recognised"),
    ],
)
def test_bad_credentials(authorization: str | None, x_api_key: str | None, status: int, says: str) -> None:
    if status == 200:
        assert KEYS.resolve(authorization, x_api_key) == "acme"
        return
    with pytest.raises(AuthError) as caught:
        KEYS.resolve(authorization, x_api_key)
    assert caught.value.status == status and says in caught.value.message


def test_no_configured_keys_refuse_everything() -> None:
    with pytest.raises(AuthError) as caught:
        ApiKeys({}).resolve("Bearer anything", None)
    assert caught.value.status == 403


def test_blobs_are_visible_only_with_the_tenant_marker(tmp_path: Path) -> None:
    with BlobStore(tmp_path / "blobs") as blobs:
        shared = blobs.put(b"window", referrer="req-1").sha256
        assert not blob_visible(blobs, shared, "acme")
        blobs.add_referrer(shared, tenant_referrer("acme"))
        assert blob_visible(blobs, shared, "acme") and not blob_visible(blobs, shared, "globex")
        assert tenant_referrer("acme") == "tenant:acme"
