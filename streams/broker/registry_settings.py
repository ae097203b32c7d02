"""The local schema registry's settings section (`MEMLANE_REGISTRY__*`): where it lives, its ports, its rule."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

Compatibility = Literal["NONE", "BACKWARD", "BACKWARD_TRANSITIVE", "FORWARD", "FORWARD_TRANSITIVE", "FULL"]


class RegistrySettings(BaseModel):
    """Apicurio Registry started from `infra/apicurio` (`memlane registry start`), loopback only."""

    model_config = ConfigDict(use_attribute_docstrings=True)

    data_dir: Path | None = None
    """Its database (H2 files, so a restart keeps every schema and id), pid and logs (default
    `<state dir>/registry`)."""
    infra_dir: Path = Path("infra")
    """The project's `infra/` folder; the registry is unpacked into `infra/apicurio/app` by Maven."""
    port: int = Field(default=8081, ge=0, le=65535)
    """HTTP port (0: a free one, chosen at first start and kept)."""
    management_port: int = Field(default=9081, ge=0, le=65535)
    """Quarkus' management port (health, metrics), also bound to 127.0.0.1."""
    heap: str = "384m"
    """JVM heap of the local schema registry."""
    compatibility: Compatibility = "BACKWARD"
    """The global compatibility rule set at every start (Apicurio's own default is NONE)."""
    start_timeout_s: float = 120.0
    """Seconds to wait for the registry to answer after start."""
    stop_timeout_s: float = 30.0
    """Seconds to wait for the registry to stop before killing it."""


__all__ = ["Compatibility", "RegistrySettings"]
