"""docs/cli.md names every command of the CLI, each with an example line."""

from __future__ import annotations

import re
from pathlib import Path

import typer.main

from streams.cli import app

ROOT = Path(__file__).resolve().parents[3]


def _commands(command: object, prefix: tuple[str, ...]) -> list[str]:
    subcommands = getattr(command, "commands", None)
    if not subcommands:
        return [" ".join(prefix)]
    found = [" ".join(prefix)] if getattr(command, "invoke_without_command", False) else []
    for name, sub in subcommands.items():
        found += _commands(sub, (*prefix, name))
    return found


def test_every_command_is_in_the_reference_with_an_example() -> None:
    reference = (ROOT / "docs" / "cli.md").read_text(encoding="utf-8")
    rows = {m.group(1): m.group(2) for m in re.finditer(r"^\| `(memlane [^`]+)` \| `([^`]+)` \|", reference, re.M)}
    commands = _commands(typer.main.get_command(app), ("memlane",))
    assert len(commands) > 30
    missing = [c for c in commands if c not in rows]
    assert not missing, f"commands missing from docs/cli.md: {missing}"
    assert all(example.split("memlane ", 1)[-1].startswith(c.removeprefix("memlane ")) for c, example in rows.items())
