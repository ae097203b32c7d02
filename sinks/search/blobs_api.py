"""`GET /v1/blobs/{sha256}`: memory_fetch, slices of the blob store by lines or bytes, byte-exact.

The default answer is the slice's raw bytes (`application/octet-stream`, exactly the stored bytes)
with its position in `X-Memlane-*` headers; `format=json` wraps it in a `BlobSliceOut` (UTF-8 text
when the bytes decode, base64 otherwise). The key must be a sha256 (64 lowercase hex characters), so
no path, dot segment or encoded separator can reach the store; the store checks the resolved object
path once more. Blobs the caller's tenant may not see answer 404, exactly like unknown ones.
"""

from __future__ import annotations

import base64
from typing import Annotated, Literal

from fastapi import APIRouter, HTTPException, Path, Query, Response

from schemas.errors import BlobStoreError
from sinks.blobstore import BlobSlice

from .api_models import BlobSliceOut, ErrorOut
from .deps import Stores, Tenant
from .ranges import MAX_SLICE_BYTES, MAX_SLICE_LINES, RangeError, parse_slice
from .tenancy import blob_visible

router = APIRouter(tags=["blobs"])

HEADER_PREFIX = "X-Memlane-"
_ERRORS: dict[int | str, dict[str, object]] = {
    code: {"model": ErrorOut, "description": text}
    for code, text in (
        (400, "bad range"),
        (401, "no API key"),
        (403, "unknown API key"),
        (404, "no such blob for this tenant"),
        (422, "invalid blob id or parameter"),
    )
}
_RAW = {"content": {"application/octet-stream": {}}, "description": "the slice's raw bytes (default format)"}

Sha256 = Annotated[
    str,
    Path(pattern=r"^[0-9a-f]{64}$", description="the blob's sha256 (64 lowercase hex characters)"),
]
Lines = Annotated[
    str | None,
    Query(max_length=40, description=f"START:END, 1-based, END inclusive; at most {MAX_SLICE_LINES} lines"),
]
Bytes = Annotated[
    str | None,
    Query(alias="bytes", max_length=40, description=f"START:END, 0-based, END exclusive; at most {MAX_SLICE_BYTES}"),
]
Format = Annotated[Literal["raw", "json"], Query(alias="format", description="raw bytes, or JSON with the position")]


def slice_headers(piece: BlobSlice, media_type: str) -> dict[str, str]:
    """Where a raw slice lies in its blob, as response headers."""
    values = {
        "Unit": piece.unit,
        "Start": str(piece.start),
        "End": str(piece.end),
        "Total-Lines": str(piece.total_lines),
        "Total-Bytes": str(piece.total_bytes),
        "Truncated": "true" if piece.truncated else "false",
        "Media-Type": media_type,
    }
    return {HEADER_PREFIX + name: value for name, value in values.items()}


def slice_json(piece: BlobSlice, media_type: str) -> BlobSliceOut:
    encoding: Literal["utf-8", "base64"] = "utf-8"
    try:
        data = piece.data.decode("utf-8")
    except UnicodeDecodeError:
        data, encoding = base64.b64encode(piece.data).decode("ascii"), "base64"
    return BlobSliceOut(
        sha256=piece.sha256,
        media_type=media_type,
        unit=piece.unit,
        start=piece.start,
        end=piece.end,
        total_lines=piece.total_lines,
        total_bytes=piece.total_bytes,
        truncated=piece.truncated,
        encoding=encoding,
        data=data,
    )


@router.get(
    "/v1/blobs/{sha256}",
    response_model=BlobSliceOut,
    responses={**_ERRORS, 200: _RAW},
    summary="Fetch a slice of a blob (memory_fetch)",
)
def fetch_blob(
    sha256: Sha256,
    tenant: Tenant,
    stores: Stores,
    *,
    lines: Lines = None,
    bytes_: Bytes = None,
    output: Format = "raw",
) -> Response | BlobSliceOut:
    """Lines (`lines=a:b`, 1-based inclusive) or bytes (`bytes=a:b`, 0-based, end exclusive) of a blob.

    A request over the caps (2000 lines, 64 KiB) is cut to them and marked truncated; page on from `end`.
    """
    try:
        wanted = parse_slice(lines, bytes_)
    except RangeError as exc:
        raise HTTPException(400, str(exc)) from exc
    blobs = stores.blobs()
    if not blobs.exists(sha256) or not blob_visible(blobs, sha256, tenant):
        raise HTTPException(404, f"blob {sha256} not found")
    try:
        media_type = blobs.stat(sha256).media_type
        piece = wanted.fetch(blobs, sha256)
    except BlobStoreError as exc:
        raise HTTPException(500, f"blob {sha256} could not be read: {exc}") from exc
    if output == "json":
        return slice_json(piece, media_type)
    return Response(piece.data, media_type="application/octet-stream", headers=slice_headers(piece, media_type))


__all__ = ["HEADER_PREFIX", "router", "slice_headers", "slice_json"]
