"""A replay's manifest (`<workspace>/replay.json`): what it replays, the offsets it resolved, how far it got.

Written before the first message is copied and after every step, so `memlane replay list` can show a
replay that crashed, and re-running the same command resumes it. Re-running a name with other parameters
is refused: a replay's outputs must come from one range and one set of arms.
"""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, Field

from schemas.errors import ConfigError

Stage = Literal["processors", "extraction"]
_IDENTITY = ("stage", "source_topic", "asked", "tenant_id", "conversations", "arms")


class ReplayManifest(BaseModel):
    name: str
    stage: Stage
    source_topic: str
    start: datetime
    end: datetime
    asked: tuple[str, str] = ("", "")
    """`--from` and `--to` as given: the same command resumes even when they are relative (`-2h`, `now`)."""
    tenant_id: str | None = None
    conversations: tuple[str, ...] = ()
    arms: tuple[str, ...]
    bounds: list[list[int]] = Field(default_factory=list)
    """`[partition, first, end]` of the source topic, resolved once."""
    steps_done: list[str] = Field(default_factory=list)
    collections: list[str] = Field(default_factory=list)
    created_at: datetime = Field(default_factory=lambda: datetime.now(UTC))
    updated_at: datetime = Field(default_factory=lambda: datetime.now(UTC))

    def differences(self, other: ReplayManifest) -> list[str]:
        """What differs between two descriptions of a replay (empty: the same replay)."""
        return [
            f"{key}: {getattr(self, key)} vs {getattr(other, key)}"
            for key in _IDENTITY
            if getattr(self, key) != getattr(other, key)
        ]

    def done(self, step: str) -> bool:
        return step in self.steps_done

    def mark(self, step: str, path: Path) -> None:
        if step not in self.steps_done:
            self.steps_done.append(step)
        self.save(path)

    def save(self, path: Path) -> None:
        self.updated_at = datetime.now(UTC)
        path.parent.mkdir(parents=True, exist_ok=True)
        scratch = path.with_suffix(".tmp")
        scratch.write_text(self.model_dump_json(indent=2))
        os.replace(scratch, path)

    @classmethod
    def load(cls, path: Path) -> ReplayManifest:
        try:
            return cls.model_validate(json.loads(path.read_text()))
        except (OSError, ValueError) as exc:
            raise ConfigError(f"cannot read the replay manifest {path}: {exc}") from exc


def open_manifest(path: Path, wanted: ReplayManifest) -> ReplayManifest:
    """The manifest to run: the one on disk when it describes the same replay (resuming), else `wanted`."""
    if not path.is_file():
        wanted.save(path)
        return wanted
    existing = ReplayManifest.load(path)
    differences = existing.differences(wanted)
    if differences:
        raise ConfigError(
            f"replay {wanted.name} exists with other parameters ({'; '.join(differences)}): "
            f"`memlane replay rm {wanted.name}` or choose another --name"
        )
    return existing


def manifests(replays_dir: Path) -> list[tuple[Path, ReplayManifest | None]]:
    """Every replay workspace under `replays_dir`, with its manifest (None when unreadable)."""
    found: list[tuple[Path, ReplayManifest | None]] = []
    if not replays_dir.is_dir():
        return found
    for workspace in sorted(p for p in replays_dir.iterdir() if p.is_dir()):
        try:
            found.append((workspace, ReplayManifest.load(workspace / "replay.json")))
        except ConfigError:
            found.append((workspace, None))
    return found


__all__ = ["ReplayManifest", "Stage", "manifests", "open_manifest"]
