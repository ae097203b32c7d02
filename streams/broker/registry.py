"""The local schema registry: Apicurio Registry from `infra/apicurio`, started detached, on loopback only.

Apicurio speaks the Confluent Schema Registry API at `/apis/ccompat/v7`, which is the URL memlane's Confluent
wire format is given (`MEMLANE_SCHEMA_REGISTRY_URL`, see `LocalRegistry.url`). `infra/apicurio/pom.xml` names
the version; Maven unpacks it into `infra/apicurio/app` once (`ensure_app`). The process binds its HTTP and
management ports to 127.0.0.1, keeps its database in H2 files under the data directory (a restart keeps every
schema and id), and is ready when the ccompat API answers; then the global compatibility rule is set
(BACKWARD unless configured: Apicurio's default is NONE). Ports chosen at first start are kept
(`registry.json`), like the broker's. Start and stop are idempotent.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import httpx
import structlog

from schemas.errors import BrokerError
from streams.broker.infra import java_binary
from streams.broker.local import free_port, recorded_pid, spawn_detached, terminate
from streams.broker.registry_settings import RegistrySettings

log = structlog.get_logger(__name__)

CCOMPAT_PATH = "/apis/ccompat/v7"


@dataclass(frozen=True)
class RegistryStatus:
    running: bool
    pid: int | None
    url: str
    data_dir: str
    version: str
    startup_s: float | None = None
    already_running: bool = False

    def as_dict(self) -> dict[str, object]:
        return asdict(self)


class LocalRegistry:
    """One Apicurio Registry process whose database, logs and pid live under `settings.data_dir`."""

    def __init__(self, settings: RegistrySettings) -> None:
        if settings.data_dir is None:
            raise BrokerError("the local registry needs a data directory (MEMLANE_REGISTRY__DATA_DIR)")
        self.settings = settings
        self.root = (settings.infra_dir / "apicurio").resolve()
        self.data_dir = settings.data_dir.resolve()

    # -- where things are ----------------------------------------------------------------------
    @property
    def version(self) -> str:
        pom = self.root / "pom.xml"
        if not pom.is_file():
            raise BrokerError(f"no registry POM at {pom}: run from the memlane checkout (MEMLANE_REGISTRY__INFRA_DIR)")
        text = pom.read_text()
        return text.split("<registry.version>", 1)[1].split("</registry.version>", 1)[0].strip()

    @property
    def runner_jar(self) -> Path:
        return self.root / "app" / f"apicurio-registry-app-{self.version}-runner.jar"

    @property
    def pid_path(self) -> Path:
        return self.data_dir / "registry.pid"

    @property
    def state_path(self) -> Path:
        return self.data_dir / "registry.json"

    @property
    def log_path(self) -> Path:
        return self.data_dir / "registry.log"

    def ports(self) -> tuple[int, int]:
        if self.state_path.exists():
            state = json.loads(self.state_path.read_text())
            return int(state["port"]), int(state["management_port"])
        return self.settings.port, self.settings.management_port

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.ports()[0]}"

    @property
    def url(self) -> str:
        """What `MEMLANE_SCHEMA_REGISTRY_URL` is set to: the Confluent-compatible API."""
        return self.base_url + CCOMPAT_PATH

    # -- the app ---------------------------------------------------------------------------------
    def ensure_app(self) -> None:
        """Unpack the registry through Maven once; later calls find it and return at once."""
        if self.runner_jar.is_file():
            return
        mvn = shutil.which("mvn")
        if mvn is None:
            raise BrokerError("Maven (mvn) is required to fetch the schema registry; install Maven 3.8+")
        result = subprocess.run(
            [mvn, "-q", "-B", "-f", str(self.root / "pom.xml"), "package"],
            capture_output=True,
            text=True,
            check=False,
        )
        if result.returncode != 0 or not self.runner_jar.is_file():
            raise BrokerError(f"mvn could not fetch the registry:\n{result.stdout[-2000:]}{result.stderr[-2000:]}")

    def command(self, port: int, management_port: int) -> list[str]:
        database = self.data_dir / "h2" / "registry"
        properties = {
            "quarkus.http.host": "127.0.0.1",
            "quarkus.http.port": port,
            "quarkus.management.host": "127.0.0.1",
            "quarkus.management.port": management_port,
            "apicurio.storage.kind": "sql",
            "apicurio.storage.sql.kind": "h2",
            "apicurio.datasource.url": f"jdbc:h2:file:{database}",
            "quarkus.log.console.json": "false",
        }
        return [
            java_binary(),
            f"-Xmx{self.settings.heap}",
            "-XX:TieredStopAtLevel=1",  # start-up over peak speed: a local registry answers little
            "-XX:+UseSerialGC",
            "-Djava.awt.headless=true",
            *(f"-D{key}={value}" for key, value in properties.items()),
            "-jar",
            str(self.runner_jar),
        ]

    # -- state -----------------------------------------------------------------------------------
    def pid(self) -> int | None:
        return recorded_pid(self.pid_path, str(self.runner_jar), str(self.data_dir))

    def answers(self, timeout: float = 2.0) -> bool:
        try:
            return httpx.get(f"{self.url}/subjects", timeout=timeout).status_code == 200
        except httpx.HTTPError:
            return False

    def status(self) -> RegistryStatus:
        pid = self.pid()
        return RegistryStatus(pid is not None and self.answers(), pid, self.url, str(self.data_dir), self.version)

    # -- lifecycle -------------------------------------------------------------------------------
    def start(self) -> RegistryStatus:
        """Start the registry if it is not running, wait until it answers, set the compatibility rule."""
        existing = self.pid()
        if existing is not None:
            if not self.answers(timeout=self.settings.start_timeout_s):
                raise BrokerError(f"registry process {existing} is alive but does not answer on {self.url}")
            return RegistryStatus(True, existing, self.url, str(self.data_dir), self.version, already_running=True)
        self.ensure_app()
        began = time.monotonic()
        self.data_dir.mkdir(parents=True, exist_ok=True)
        port, management_port = self.ports()
        port, management_port = port or free_port(), management_port or free_port()
        self.state_path.write_text(json.dumps({"port": port, "management_port": management_port}) + "\n")
        if self.answers(timeout=1.0):
            raise BrokerError(f"another schema registry answers on {self.url}: set MEMLANE_REGISTRY__PORT")
        process = spawn_detached(self.command(port, management_port), self.log_path, cwd=self.data_dir)
        self.pid_path.write_text(f"{process.pid}\n")
        deadline = time.monotonic() + self.settings.start_timeout_s
        while time.monotonic() < deadline:
            if process.poll() is not None:
                self.pid_path.unlink(missing_ok=True)
                raise BrokerError(f"the registry exited with {process.returncode} during start:\n{self._log_tail()}")
            if self.answers():
                self._set_compatibility()
                startup = time.monotonic() - began
                log.info("registry.started", pid=process.pid, url=self.url, startup_s=round(startup, 2))
                return RegistryStatus(True, process.pid, self.url, str(self.data_dir), self.version, startup)
            time.sleep(0.25)
        self.stop()
        raise BrokerError(
            f"the registry did not answer within {self.settings.start_timeout_s:.0f}s:\n{self._log_tail()}"
        )

    def _set_compatibility(self) -> None:
        response = httpx.put(
            f"{self.url}/config",
            json={"compatibility": self.settings.compatibility},
            headers={"Content-Type": "application/vnd.schemaregistry.v1+json"},
            timeout=10.0,
        )
        if response.status_code != 200:
            raise BrokerError(f"the registry refused the compatibility rule: HTTP {response.status_code}")

    def stop(self) -> bool:
        """Stop the registry (SIGTERM, then SIGKILL after the timeout). True if one was running."""
        pid = self.pid()
        if pid is None:
            self.pid_path.unlink(missing_ok=True)
            return False
        terminate(pid, self.settings.stop_timeout_s)
        self.pid_path.unlink(missing_ok=True)
        log.info("registry.stopped", pid=pid)
        return True

    def _log_tail(self, lines: int = 30) -> str:
        if not self.log_path.exists():
            return "(no registry output)"
        return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])


__all__ = ["CCOMPAT_PATH", "LocalRegistry", "RegistryStatus"]
