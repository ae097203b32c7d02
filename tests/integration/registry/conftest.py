"""The real schema registry of the registry tests: Apicurio from `infra/apicurio`, one per session.

Started the way a person does (`memlane registry start`) on random loopback ports, with its database in a
temporary directory; `LocalRegistry` over the same directory stops and restarts it.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from typer.testing import CliRunner

from streams.broker.local import _process_alive
from streams.broker.registry import LocalRegistry
from streams.broker.registry_settings import RegistrySettings
from streams.cli import app


@pytest.fixture(scope="session")
def local_registry(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalRegistry]:
    data_dir = tmp_path_factory.mktemp("registry")
    env = {
        "MEMLANE_REGISTRY__DATA_DIR": str(data_dir),
        "MEMLANE_REGISTRY__PORT": "0",
        "MEMLANE_REGISTRY__MANAGEMENT_PORT": "0",
        "COLUMNS": "300",
    }
    registry = LocalRegistry(RegistrySettings(data_dir=data_dir))
    try:
        started = CliRunner().invoke(app, ["registry", "start"], env=env)
        print(f"\n{started.output}")
        assert started.exit_code == 0, started.output
        assert f"MEMLANE_SCHEMA_REGISTRY_URL={registry.url}" in started.output
        yield registry
    finally:
        pid = registry.pid()
        registry.stop()
        assert pid is None or not _process_alive(pid), "the registry outlived the session"
