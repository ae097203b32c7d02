"""The API's request model: validation rules and the store filters it turns into."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from pydantic import ValidationError

from schemas.events import MemoryKind
from sinks.memory_store import SearchFilters, SearchMode
from sinks.search import SearchRequest
from sinks.search.api_models import blob_url


def test_defaults_and_filters() -> None:
    request = SearchRequest(query="where does Ana live?")
    assert (request.limit, request.mode, request.min_score) == (10, SearchMode.HYBRID, None)
    assert request.filters() == SearchFilters()
    since = datetime(2025, 1, 1, tzinfo=UTC)
    narrowed = SearchRequest.model_validate(
        {
            "query": "q",
            "user_id": "ana",
            "kinds": ["fact", "error"],
            "tags": ["travel"],
            "since": since,
            "mode": "hybrid",
        }
    )
    assert narrowed.filters() == SearchFilters(
        user_id="ana", kinds=(MemoryKind.FACT, MemoryKind.ERROR), tags=("travel",), since=since
    )
    assert narrowed.mode is SearchMode.HYBRID


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"query": ""}, "query"),
        ({"query": " \n\t"}, "query"),
        ({"query": "q", "limit": 0}, "limit"),
        ({"query": "q", "limit": 101}, "limit"),
        ({"query": "q", "user_id": ""}, "user_id"),
        ({"query": "q", "kinds": ["fact"] * 6}, "kinds"),
        ({"query": "q", "mode": "sparse"}, "mode"),
        ({"query": "q", "min_score": -1.5}, "min_score"),
        ({"query": "q", "unknown": 1}, "unknown"),
    ],
)
def test_invalid_requests_name_the_field(body: dict[str, object], field: str) -> None:
    with pytest.raises(ValidationError) as caught:
        SearchRequest.model_validate(body)
    assert field in str(caught.value)


def test_time_window_must_be_ordered() -> None:
    with pytest.raises(ValidationError, match="since must not be after until"):
        SearchRequest(query="q", since=datetime(2025, 2, 1, tzinfo=UTC), until=datetime(2025, 1, 1, tzinfo=UTC))


def test_blob_urls() -> None:
    assert blob_url("ab" * 32) == "/v1/blobs/" + "ab" * 32
    assert blob_url(None) is None
