"""A small HTTP client for a running search service (what `memlane search --url` uses).

    with SearchClient("http://127.0.0.1:8080", api_key="k-acme") as client:
        response = client.search(SearchRequest(query="where does Ana live?", user_id="ana"))

Any non-2xx answer raises `SearchError` carrying the status and the service's message; connection
failures are translated the same way, so the CLI reports both in one line.
"""

from __future__ import annotations

from types import TracebackType
from typing import Any

import httpx

from schemas.errors import SearchError

from .api_models import BlobSliceOut, MemoryDetail, SearchRequest, SearchResponse


class SearchClient:
    """Calls the `/v1` routes of a search service with one API key."""

    def __init__(
        self, base_url: str, api_key: str, *, timeout: float = 30.0, transport: httpx.BaseTransport | None = None
    ) -> None:
        self._http = httpx.Client(
            base_url=base_url.rstrip("/"),
            headers={"Authorization": f"Bearer {api_key}"},
            timeout=timeout,
            transport=transport,
        )

    def _call(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        try:
            response = self._http.request(method, path, **kwargs)
        except httpx.HTTPError as exc:
            raise SearchError(f"search service at {self._http.base_url} unreachable: {exc}") from exc
        if response.is_success:
            return response
        try:
            message = str(response.json().get("message", response.text))
        except ValueError:
            message = response.text[:300]
        raise SearchError(f"search service answered {response.status_code}: {message}")

    def search(self, request: SearchRequest) -> SearchResponse:
        body = request.model_dump(mode="json", exclude_none=True, exclude_defaults=True)
        return SearchResponse.model_validate(self._call("POST", "/v1/search", json=body).json())

    def memory(self, memory_id: str) -> MemoryDetail:
        return MemoryDetail.model_validate(self._call("GET", f"/v1/memories/{memory_id}").json())

    def blob_slice(self, sha256: str, *, lines: str | None = None, bytes_: str | None = None) -> BlobSliceOut:
        params = {"format": "json", **({"lines": lines} if lines else {}), **({"bytes": bytes_} if bytes_ else {})}
        return BlobSliceOut.model_validate(self._call("GET", f"/v1/blobs/{sha256}", params=params).json())

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> SearchClient:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()


__all__ = ["SearchClient"]
