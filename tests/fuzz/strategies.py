"""Hypothesis strategies for every event model, derived from the models' own fields (no hand-kept copy).

`events(Model)` draws a valid instance of any `schemas.events` model: each field's annotation picks its
strategy (text for `str`, bounded by the field's length constraints, without control characters where the
field is an id; integers and floats within the field's bounds; UTC datetimes in the models' range; enum
members; nested records recursively; tuples and dicts of those), `None` for optional fields now and then.
A draw the model's own validators refuse is rejected (`assume`), so what comes out is what a producer could
send. `corruptions(raw)` mutates a valid encoding (bit flips, truncation, splices, a wrong header).
"""

from __future__ import annotations

import types
import typing
from datetime import UTC, datetime, timedelta
from enum import Enum
from typing import Any

import annotated_types
from hypothesis import assume
from hypothesis import strategies as st
from pydantic import BaseModel
from pydantic import ValidationError as PydanticValidationError
from pydantic.fields import FieldInfo

from schemas.events import EARLIEST, LATEST

INT64 = (-(2**63), 2**63 - 1)
ID_TEXT = st.characters(blacklist_categories=("Cs", "Cc"))
"""Id characters: no surrogates (not Unicode text), no control characters (ids refuse them)."""
FREE_TEXT = st.characters(blacklist_categories=("Cs",))
"""Free text (content, details): anything that is Unicode text, control characters included."""
DATETIMES = st.datetimes(
    min_value=EARLIEST.replace(tzinfo=None),
    max_value=(LATEST - timedelta(milliseconds=1)).replace(tzinfo=None),
    timezones=st.just(UTC),
)


def _bounds(metadata: list[Any]) -> dict[str, Any]:
    found: dict[str, Any] = {}
    for item in metadata:
        if isinstance(item, annotated_types.Ge):
            found["min_value"] = item.ge
        elif isinstance(item, annotated_types.Gt):
            found["min_value"], found["exclusive_min"] = item.gt, True
        elif isinstance(item, annotated_types.Le):
            found["max_value"] = item.le
        elif isinstance(item, annotated_types.MinLen):
            found["min_size"] = item.min_length
        elif isinstance(item, annotated_types.MaxLen):
            found["max_size"] = item.max_length
        elif isinstance(item, FieldInfo):  # `Field(...)` inside an Annotated alias (ids)
            found.update(_bounds(list(item.metadata)))
        elif type(item).__name__ == "AfterValidator":
            found["id"] = True
    return found


def _integers(bounds: dict[str, Any]) -> st.SearchStrategy[int]:
    low = bounds.get("min_value", INT64[0]) + (1 if bounds.get("exclusive_min") else 0)
    high = bounds.get("max_value", INT64[1])
    return st.one_of(st.integers(low, min(high, max(low, 0) + 1000)), st.integers(low, high))


def _floats(bounds: dict[str, Any]) -> st.SearchStrategy[float]:
    if "min_value" in bounds or "max_value" in bounds:
        return st.floats(
            bounds.get("min_value"), bounds.get("max_value"), exclude_min=bounds.get("exclusive_min", False)
        )
    return st.floats(allow_nan=True, allow_infinity=True)


def _text(bounds: dict[str, Any]) -> st.SearchStrategy[str]:
    alphabet = ID_TEXT if bounds.get("id") else FREE_TEXT
    return st.text(alphabet, min_size=bounds.get("min_size", 0), max_size=min(bounds.get("max_size", 24), 24))


def for_annotation(annotation: Any, metadata: list[Any]) -> st.SearchStrategy[Any]:
    """The strategy for one field's type and constraints."""
    origin = typing.get_origin(annotation)
    args = typing.get_args(annotation)
    if origin is typing.Annotated:
        return for_annotation(args[0], [*metadata, *args[1:]])
    if origin in (typing.Union, types.UnionType):
        options = [for_annotation(arg, metadata) for arg in args if arg is not type(None)]
        if type(None) in args:
            options.insert(0, st.none())
        return st.one_of(options)
    bounds = _bounds(metadata)
    if origin is tuple:
        item = for_annotation(args[0], [])
        return st.lists(item, min_size=bounds.get("min_size", 0), max_size=4).map(tuple)
    if origin is dict:
        return st.dictionaries(for_annotation(args[0], []), for_annotation(args[1], []), max_size=4)
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return events(annotation)
    if isinstance(annotation, type) and issubclass(annotation, Enum):
        return st.sampled_from(list(annotation))
    if origin is typing.Literal:
        return st.sampled_from(args)
    if annotation is bool:
        return st.booleans()
    if annotation is int:
        return _integers(bounds)
    if annotation is float:
        return _floats(bounds)
    if annotation is str:
        return _text(bounds)
    if annotation is datetime:
        return DATETIMES
    raise TypeError(f"no strategy for {annotation!r}")


def _field(field: FieldInfo) -> st.SearchStrategy[Any]:
    return for_annotation(field.annotation, list(field.metadata))


def events(model: type[BaseModel]) -> st.SearchStrategy[Any]:
    """Valid instances of `model` (an event model or one of its nested records)."""

    @st.composite
    def draw(data: st.DrawFn) -> Any:
        values = {name: data(_field(field)) for name, field in model.model_fields.items()}
        try:
            return model.model_validate(values)
        except PydanticValidationError:
            assume(False)

    return draw()


@st.composite
def corruptions(data: st.DrawFn, raw: bytes) -> bytes:
    """`raw` damaged the ways a disk, a network or a foreign producer damages bytes."""
    kind = data(st.sampled_from(["flip", "truncate", "splice", "extend", "header", "replace"]))
    if kind == "flip" and raw:
        at = data(st.integers(0, len(raw) - 1))
        return raw[:at] + bytes([raw[at] ^ data(st.integers(1, 255))]) + raw[at + 1 :]
    if kind == "truncate":
        return raw[: data(st.integers(0, max(0, len(raw) - 1)))]
    if kind == "splice" and raw:
        start = data(st.integers(0, len(raw)))
        end = data(st.integers(start, len(raw)))
        return raw[:start] + data(st.binary(max_size=16)) + raw[end:]
    if kind == "extend":
        return raw + data(st.binary(min_size=1, max_size=16))
    if kind == "header":
        return data(st.binary(max_size=10)) + raw[10:]
    return data(st.binary(max_size=len(raw) + 8))


__all__ = ["DATETIMES", "corruptions", "events", "for_annotation"]
