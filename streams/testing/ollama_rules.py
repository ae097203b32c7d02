"""What the real Ollama server (0.17.4) refuses and how it says it: the texts and checks the fake reproduces.

Each text here was read off the real server (`../shared/tools/ollama/README.md`); the real-server tests in
`tests/integration/ollama/` assert the real server still says them, and `tests/unit/testing/` pins the fake to
them, so the fast tests stay faithful:

    404  model 'x' not found
    500  invalid JSON schema in format                          (a `format` object that is not a JSON schema)
    500  invalid format: "\"yaml\""; expected "json" or a valid JSON Schema object
    500  option "num_ctx" must be of type integer               (an option of the wrong type; unknown ones: 200)
    500  model runner has unexpectedly stopped, ...            (a string bound over llama.cpp's grammar limit:
                                                               the grammar fails to parse and the runner dies)
    503  server busy, please try again.  maximum pending requests exceeded   (OLLAMA_MAX_QUEUE reached)

A prompt longer than `num_ctx` is not refused: it is cut (the system prompt first) and `prompt_eval_count`
reports `num_ctx`. `OLLAMA_NUM_PARALLEL` defaults to 1 and the context length to 4096.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

SERVER_BUSY = "server busy, please try again.  maximum pending requests exceeded"
INVALID_SCHEMA = "invalid JSON schema in format"
RUNNER_STOPPED = (
    "model runner has unexpectedly stopped, this may be due to resource limitations or an internal error, "
    "check ollama server logs for details"
)
GRAMMAR_REPETITION_LIMIT = 2000
"""The most repetitions llama.cpp's grammar parser accepts (`maxLength` 4000 crashed the 0.17.4 runner)."""
DEFAULT_NUM_CTX = 4096
DEFAULT_NUM_PARALLEL = 1
DEFAULT_MAX_QUEUE = 512

_JSON_TYPES = frozenset({"object", "array", "string", "number", "integer", "boolean", "null"})
_INTEGER_OPTIONS = frozenset(
    {"num_ctx", "num_predict", "num_keep", "seed", "top_k", "repeat_last_n", "num_batch", "num_gpu", "num_thread"}
)
_FLOAT_OPTIONS = frozenset(
    {"temperature", "top_p", "min_p", "typical_p", "repeat_penalty", "presence_penalty", "frequency_penalty"}
)


def model_not_found(name: str) -> str:
    """The 404 body's error for a model the server has not pulled."""
    return f"model '{name}' not found"


def invalid_format(value: Any) -> str:
    """The 500 body's error for a `format` that is neither "json" nor a schema object."""
    return f'invalid format: {json.dumps(json.dumps(value))}; expected "json" or a valid JSON Schema object'


def option_type_error(name: str, kind: str) -> str:
    """The 500 body's error for an option of the wrong type (`kind`: integer, float32, ...)."""
    return f'option "{name}" must be of type {kind}'


def _schema_ok(node: Any, depth: int = 0) -> bool:
    if depth > 64:
        return False
    if isinstance(node, list):
        return all(_schema_ok(item, depth + 1) for item in node)
    if not isinstance(node, dict):
        return True
    kind = node.get("type")
    kinds = kind if isinstance(kind, list) else [kind] if kind is not None else []
    if any(not isinstance(k, str) or k not in _JSON_TYPES for k in kinds):
        return False
    return all(_schema_ok(value, depth + 1) for key, value in node.items() if key != "enum")


def _repetitions_ok(node: Any, depth: int = 0) -> bool:
    """No string bound over the grammar's repetition limit (what the real runner dies on)."""
    if depth > 64 or isinstance(node, list):
        return depth <= 64 and all(_repetitions_ok(item, depth + 1) for item in node)
    if not isinstance(node, dict):
        return True
    for key in ("maxLength", "minLength"):
        bound = node.get(key)
        if isinstance(bound, int) and not isinstance(bound, bool) and bound > GRAMMAR_REPETITION_LIMIT:
            return False
    return all(_repetitions_ok(value, depth + 1) for key, value in node.items() if key != "enum")


def format_error(value: Any) -> str | None:
    """Why the server refuses a `format` (None when it accepts it)."""
    if value is None or (isinstance(value, str) and value in {"", "json"}):
        return None
    if isinstance(value, dict):
        if not _schema_ok(value):
            return INVALID_SCHEMA
        return None if _repetitions_ok(value) else RUNNER_STOPPED
    return invalid_format(value)


def options_error(options: Mapping[str, Any] | None) -> str | None:
    """Why the server refuses the `options` (None when it accepts them; unknown names are accepted)."""
    for name, value in (options or {}).items():
        if name in _INTEGER_OPTIONS and (isinstance(value, bool) or not isinstance(value, int | float)):
            return option_type_error(name, "integer")
        if name in _FLOAT_OPTIONS and (isinstance(value, bool) or not isinstance(value, int | float)):
            return option_type_error(name, "float32")
    return None


__all__ = [
    "DEFAULT_MAX_QUEUE",
    "DEFAULT_NUM_CTX",
    "DEFAULT_NUM_PARALLEL",
    "GRAMMAR_REPETITION_LIMIT",
    "INVALID_SCHEMA",
    "RUNNER_STOPPED",
    "SERVER_BUSY",
    "format_error",
    "invalid_format",
    "model_not_found",
    "option_type_error",
    "options_error",
]
