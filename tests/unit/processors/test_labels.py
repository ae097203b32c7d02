"""The labeller against the fake Ollama server through the real `ollama` client: labels by memory when the
model answers, normalised and repaired; no labels and the error class when it cannot (every path)."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

import pytest

from processors.offload.label_settings import LabelSettings
from processors.offload.labels import (
    LabelAnswerError,
    LabelItem,
    Labeller,
    label_schema,
    missing,
    normalise_label,
    parse_labels,
)
from schemas.events import UsageRecord
from streams.testing.fake_ollama import FakeOllamaServer

MODEL = "memlane-smollm2"
ITEMS = [
    LabelItem("m1", "Ana loves spicy ramen", ("food preference",)),
    LabelItem("m2", "Bruno flies to Lisbon in May", ("travel",)),
    LabelItem("m3", "The weather was rainy"),
]
SEEN: list[dict[str, Any]] = []


def scripted(body: dict[str, Any]) -> str:
    """A scripted model: messy labels for the first two memories, nothing for the third."""
    SEEN.append(body)
    numbers = [int(n) for n in re.findall(r"^(\d+)\. ", body["messages"][-1]["content"], flags=re.M)]
    answer = [
        {"n": numbers[0], "labels": ["Food_Preference", "food preference", "Japanese-Cuisine!"]},
        {"n": numbers[1], "labels": ["Travel Plans", "a very long label about going places soon"]},
    ]
    return json.dumps({"labels": answer})


@pytest.fixture
def server() -> Iterator[FakeOllamaServer]:
    with FakeOllamaServer([MODEL], responder=scripted, hang_seconds=3.0) as fake:
        yield fake


def labeller(server: FakeOllamaServer, usage: list[UsageRecord], timeout_s: float = 2.0) -> Labeller:
    task = Labeller.connect(server.url, MODEL, LabelSettings(timeout_s=timeout_s), on_usage=usage.append)
    task.vocabulary = ("food preference", "travel")
    return task


def test_labels_by_memory_normalised_with_usage_and_the_schema_sent(server: FakeOllamaServer) -> None:
    usage: list[UsageRecord] = []
    task = labeller(server, usage)
    try:
        result = task.label(ITEMS, tenant_id="acme")
    finally:
        task.close()
    assert result.ok and result.error_class is None
    assert result.labels == {
        "m1": ("food preference", "japanese cuisine"),
        "m2": ("travel plans", "a very long label"),
    }
    assert missing(ITEMS, result) == 1, "m3 keeps its heuristic tags"
    assert result.repairs["reformatted"] >= 3 and result.repairs["repeated"] == 1
    assert result.repairs["too_many_words"] == 1
    [record] = usage
    assert record.outcome == "success" and record.tenant_id == "acme" and record.model == MODEL
    assert record.tokens_in > 0 and record.tokens_out > 0 and record.cost_usd == 0.0
    sent = SEEN[-1]
    assert sent["format"] == label_schema(3, 3) and sent["options"]["temperature"] == 0.0
    assert "food preference, travel" in sent["messages"][0]["content"]
    assert "1. Ana loves spicy ramen [tags: food preference]" in sent["messages"][-1]["content"]


@pytest.mark.parametrize(
    ("kind", "error_class"),
    [
        ("timeout", "timeout"),
        ("malformed_json", "invalid_json"),
        ("http_500", "server_error"),
        ("busy", "overloaded"),
        ("schema_violation", "schema_violation"),
    ],
)
def test_an_unusable_model_labels_nothing_and_says_why(server: FakeOllamaServer, kind: str, error_class: str) -> None:
    usage: list[UsageRecord] = []
    task = labeller(server, usage, timeout_s=0.5)
    server.fail_next(1, kind)  # type: ignore[arg-type]
    try:
        result = task.label(ITEMS)
    finally:
        task.close()
    assert not result.ok and result.labels == {} and result.error_class == error_class
    assert [(u.outcome, u.error_class) for u in usage] == [("failure", error_class)]


def test_an_unknown_model_or_a_server_that_is_down(server: FakeOllamaServer) -> None:
    usage: list[UsageRecord] = []
    task = Labeller.connect(server.url, "no-such-model", LabelSettings(timeout_s=2.0), on_usage=usage.append)
    try:
        assert task.label(ITEMS).error_class == "model_not_found"
        server.pause()
        assert task.label(ITEMS).error_class == "connection_refused"
        server.resume()
        assert task.label([]).labels == {} and len(usage) == 2, "nothing to label: no call"
    finally:
        task.close()


def test_normalise_label() -> None:
    assert normalise_label("Food preference") == ("food preference", "reformatted")
    assert normalise_label("travel plans") == ("travel plans", None)
    assert normalise_label("one two three four five") == ("one two three four", "too_many_words")
    assert normalise_label("supercalifragilistic expialidocious words") == ("supercalifragilistic", "too_long")
    assert normalise_label("!!!")[0] == ""


def test_parse_labels_repairs_and_refusals() -> None:
    answer = json.dumps(
        {"labels": [{"n": 9, "labels": ["x"]}, {"n": 1, "labels": "pets"}, {"n": 2, "labels": ["a", "b", "c", "d"]}]}
    )
    labelled, repairs = parse_labels(answer, 2, 3)
    assert labelled == {0: ("pets",), 1: ("a", "b", "c")}
    assert repairs["unknown_memory"] == 1 and repairs["labels_not_a_list"] == 1 and repairs["too_many_labels"] == 1
    for bad, error_class in (
        ("nope", "invalid_json"),
        ("[1]", "schema_violation"),
        ('{"labels": [{"n": 1, "labels": ["!!"]}]}', "schema_violation"),
    ):
        with pytest.raises(LabelAnswerError) as caught:
            parse_labels(bad, 2, 3)
        assert caught.value.error_class == error_class
