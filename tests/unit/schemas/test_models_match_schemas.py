"""Each pydantic event model and its Avro schema agree: same fields, types, nullability and defaults."""

from __future__ import annotations

import types
import typing
from datetime import datetime
from enum import Enum
from typing import Any

import pytest
from pydantic import BaseModel

from schemas.catalogue import shipped_catalogue
from schemas.events import EVENT_MODELS, EventModel

_PRIMITIVE_PYTHON = {"string": str, "long": int, "int": int, "double": float, "float": float, "boolean": bool}


def _check_type(avro: Any, annotation: Any, path: str, named: dict[str, Any]) -> None:
    origin = typing.get_origin(annotation)
    args = typing.get_args(annotation)
    if isinstance(avro, list):  # union: only ["null", X] is used
        assert avro[0] == "null" and len(avro) == 2, f"{path}: unexpected union {avro}"
        assert origin in (typing.Union, types.UnionType) and type(None) in args, f"{path}: model is not Optional"
        inner = [a for a in args if a is not type(None)]
        assert len(inner) == 1, path
        _check_type(avro[1], inner[0], path, named)
        return
    assert not (origin in (typing.Union, types.UnionType) and type(None) in args), f"{path}: model is Optional"
    if isinstance(avro, str) and avro in named:
        avro = named[avro]
    if avro == "string" and origin is typing.Literal:  # a closed set of strings on the wire as a string
        assert all(isinstance(arg, str) for arg in args), f"{path}: {annotation}"
        return
    if isinstance(avro, str):
        assert annotation is _PRIMITIVE_PYTHON[avro], f"{path}: {avro} vs {annotation}"
        return
    kind = avro["type"]
    if avro.get("logicalType") == "timestamp-millis":
        assert annotation is datetime, f"{path}: timestamp vs {annotation}"
    elif kind == "enum":
        named[avro["name"]] = avro
        assert isinstance(annotation, type) and issubclass(annotation, Enum), path
        assert [m.value for m in annotation] == avro["symbols"], f"{path}: enum symbols differ"
    elif kind == "record":
        named[avro["name"]] = avro
        assert isinstance(annotation, type) and issubclass(annotation, BaseModel), path
        _check_record(avro, annotation, path, named)
    elif kind == "array":
        assert origin is tuple and args[1] is Ellipsis, f"{path}: arrays are tuples in models"
        _check_type(avro["items"], args[0], f"{path}[]", named)
    elif kind == "map":
        assert origin is dict and args[0] is str, path
        _check_type(avro["values"], args[1], f"{path}{{}}", named)
    else:
        _check_type(kind, annotation, path, named)


def _is_timestamp(avro: Any) -> bool:
    return isinstance(avro, dict) and avro.get("logicalType") == "timestamp-millis"


def _check_record(avro: dict[str, Any], model: type[BaseModel], path: str, named: dict[str, Any]) -> None:
    avro_fields = {f["name"]: f for f in avro["fields"]}
    model_fields = model.model_fields
    assert list(avro_fields) == list(model_fields), f"{path}: field names or order differ"
    hints = typing.get_type_hints(model)
    for name, field in avro_fields.items():
        _check_type(field["type"], hints[name], f"{path}.{name}", named)
        info = model_fields[name]
        has_avro_default = "default" in field
        stamped_at_creation = info.default_factory is not None and _is_timestamp(field["type"])
        if not stamped_at_creation:
            assert has_avro_default == (not info.is_required()), f"{path}.{name}: default presence differs"
        if has_avro_default and info.default_factory is None:
            default = info.default
            if isinstance(default, Enum):
                default = default.value
            if isinstance(default, tuple):
                default = list(default)
            assert default == field["default"], f"{path}.{name}: default {default!r} != {field['default']!r}"


@pytest.mark.parametrize("model", EVENT_MODELS, ids=lambda m: m.__name__)
def test_model_and_schema_agree(model: type[EventModel]) -> None:
    version = shipped_catalogue().current(model.avro_name)
    _check_record(version.schema, model, model.__name__, {})


def test_every_schema_has_a_model() -> None:
    assert sorted(m.avro_name for m in EVENT_MODELS) == shipped_catalogue().names()
