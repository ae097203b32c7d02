"""Configuration errors as one line each: which `MEMLANE_*` variable, and what is wrong with it.

The value itself is never shown (it may be a secret), and where a mapping's keys are secrets (search API
keys), the key is not shown either: `MEMLANE_API_KEYS[<key 1>]: Input should be a valid string`.
"""

from __future__ import annotations

from typing import Any

import pydantic

SECRET_KEYED = frozenset({"api_keys"})
"""Settings whose mapping keys are secrets."""
_ALIASES = {"state_dir": "MEMLANE_STATE_DIR", "data_dir": "MEMLANE_DATA_DIR"}


def variable(loc: tuple[Any, ...]) -> str:
    """The environment variable (and, below it, the part of its value) an error location names."""
    if not loc:
        return "MEMLANE_*"
    head, *rest = (str(part) for part in loc)
    name = _ALIASES.get(head, f"MEMLANE_{head.upper()}")
    if head in SECRET_KEYED and rest:
        return f"{name}[<key>]" + "".join(f".{part}" for part in rest[1:])
    nested = [part for part in rest if not part.isdigit()]
    return name + "".join(f"__{part.upper()}" for part in nested)


def describe(error: pydantic.ValidationError) -> list[str]:
    """One line per problem, without the offending values."""
    lines = []
    for item in error.errors(include_input=False, include_url=False):
        message = str(item.get("msg", "invalid")).removeprefix("Value error, ")
        lines.append(f"{variable(tuple(item.get('loc', ())))}: {message}")
    return lines


__all__ = ["SECRET_KEYED", "describe", "variable"]
