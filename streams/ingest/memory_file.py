"""Files of memories for `memlane import`: JSON lines, each a memlane `MemoryInput` or a Mem0 export record.

A line with a `memory` field is read as Mem0 (`MemoryInput.from_mem0`, the mapping is documented there and in
the README); any other object as a `MemoryInput`. Blank lines are skipped. Every line is checked on its own:
`read_memory_file` returns the valid inputs with their line numbers and the invalid lines with the reason,
so one bad line never hides the others.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

from pydantic import ValidationError as PydanticValidationError

from schemas.errors import ValidationError
from schemas.memory_input import MemoryInput, input_errors


@dataclass
class MemoryFile:
    """A memory file read line by line: what can be written and what cannot (by line number)."""

    inputs: list[tuple[int, MemoryInput]] = field(default_factory=list)
    errors: list[tuple[int, str]] = field(default_factory=list)


def parse_memory_line(text: str) -> MemoryInput:
    """One JSON line as a `MemoryInput` (`ValueError` naming what is wrong)."""
    try:
        record = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ValueError(f"not JSON: {exc.msg} at column {exc.colno}") from exc
    if not isinstance(record, dict):
        raise ValueError(f"expected a JSON object, got {type(record).__name__}")
    try:
        return MemoryInput.from_mem0(record)
    except PydanticValidationError as exc:
        raise ValueError(input_errors(exc)) from exc


def read_memory_file(path: Path) -> MemoryFile:
    """Every line of `path` checked; raises `ValidationError` only when the file itself cannot be read."""
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise ValidationError(f"{path}: cannot be read as UTF-8 text ({exc})") from exc
    result = MemoryFile()
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            result.inputs.append((number, parse_memory_line(line)))
        except ValueError as exc:
            result.errors.append((number, str(exc)))
    return result


__all__ = ["MemoryFile", "parse_memory_line", "read_memory_file"]
