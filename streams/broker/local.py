"""The local single-node Kafka broker: format once, start detached, wait until it answers, stop cleanly.

KRaft, broker and controller in one process on 127.0.0.1. First start: `StorageTool random-uuid`,
then `StorageTool format --standalone` with `controller.quorum.bootstrap.servers` (a dynamic quorum
of one; no static voters list). The data directory keeps the cluster id and the ports chosen at
format time (`broker.json`), so restarts reuse them. Every operation is idempotent: starting a
running broker reports it, stopping a stopped one does nothing.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import structlog

from schemas.errors import BrokerError
from streams.broker.auth import ScramListener
from streams.broker.broker_settings import BrokerSettings
from streams.broker.infra import BROKER_CLASS, STORAGE_TOOL_CLASS, KafkaInfra
from streams.broker.probe import cluster_id as answering_cluster
from streams.broker.probe import who_listens
from streams.kafka.connection import KafkaConnection

log = structlog.get_logger(__name__)


@dataclass(frozen=True)
class BrokerStatus:
    running: bool
    pid: int | None
    bootstrap: str
    data_dir: str
    kafka_version: str
    startup_s: float | None = None
    already_running: bool = False
    auth: str = "none"
    ca_location: str | None = None
    """The CA a client trusts (`MEMLANE_SSL_CA_LOCATION`) when the broker speaks TLS."""

    def as_dict(self) -> dict[str, object]:
        return asdict(self)


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _process_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        state = Path(f"/proc/{pid}/stat").read_text().split()[2]
    except (OSError, IndexError):
        return True
    return state != "Z"


def recorded_pid(pid_path: Path, *markers: str) -> int | None:
    """The pid in `pid_path` when that process is alive and its command line names every one of `markers`
    (so a recycled pid of another program is never taken for ours); None otherwise."""
    try:
        pid = int(pid_path.read_text().strip())
    except (OSError, ValueError):
        return None
    if not _process_alive(pid):
        return None
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    except OSError:
        return pid
    return pid if all(marker in cmdline for marker in markers) else None


def spawn_detached(command: list[str], log_path: Path, *, cwd: Path | None = None) -> subprocess.Popen[bytes]:
    """Start `command` in a session of its own (it outlives this process), its output appended to `log_path`."""
    with log_path.open("ab") as out:
        return subprocess.Popen(
            command, cwd=cwd, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True
        )


def terminate(pid: int, timeout_s: float) -> bool:
    """SIGTERM `pid`, wait up to `timeout_s`, then SIGKILL; reaps it when it is our child. True if it was killed."""
    os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline and _process_alive(pid):
        _reap(pid)
        time.sleep(0.2)
    killed = _process_alive(pid)
    if killed:
        os.kill(pid, signal.SIGKILL)
        while _process_alive(pid):
            _reap(pid)
            time.sleep(0.1)
    _reap(pid)
    return killed


def _reap(pid: int) -> None:
    try:
        os.waitpid(pid, os.WNOHANG)
    except ChildProcessError:
        pass


class LocalBroker:
    """One broker process whose data, config, logs and pid live under `settings.data_dir`.

    `client` is the connection the deployment's clients use: with `auth` scram, its SCRAM user is let in.
    """

    def __init__(
        self, settings: BrokerSettings, infra: KafkaInfra | None = None, *, client: KafkaConnection | None = None
    ) -> None:
        if settings.data_dir is None:
            raise BrokerError("the local broker needs a data directory (MEMLANE_BROKER__DATA_DIR or MEMLANE_STATE_DIR)")
        self.settings = settings
        self.infra = infra or KafkaInfra.under(settings.infra_dir)
        self.data_dir = settings.data_dir.resolve()
        self.client = client

    # -- paths ---------------------------------------------------------------------------------
    @property
    def log_dir(self) -> Path:
        return self.data_dir / "log"

    @property
    def logs_dir(self) -> Path:
        return self.data_dir / "logs"

    @property
    def config_path(self) -> Path:
        return self.data_dir / "server.properties"

    @property
    def state_path(self) -> Path:
        return self.data_dir / "broker.json"

    @property
    def pid_path(self) -> Path:
        return self.data_dir / "broker.pid"

    # -- state ---------------------------------------------------------------------------------
    def _state(self) -> dict[str, int | str]:
        if self.state_path.exists():
            state: dict[str, int | str] = json.loads(self.state_path.read_text())
            return state
        return {}

    def formatted(self) -> bool:
        return (self.log_dir / "meta.properties").exists() and bool(self._state())

    def ports(self) -> tuple[int, int]:
        state = self._state()
        if state:
            return int(state["port"]), int(state["controller_port"])
        return self.settings.port, self.settings.controller_port

    @property
    def bootstrap(self) -> str:
        return f"127.0.0.1:{self.ports()[0]}"

    @property
    def auth(self) -> str:
        """How clients authenticate: chosen at format time (`broker.json`), else from the settings."""
        return str(self._state().get("auth", "none")) if self.formatted() else self.settings.auth

    @property
    def scram(self) -> ScramListener | None:
        return ScramListener(self.data_dir) if self.auth == "scram" else None

    def client_conf(self) -> dict[str, object]:
        """What a client of this broker adds to `bootstrap.servers` (the broker's own user, with auth)."""
        return self.scram.admin_conf() if self.scram is not None else {}

    def _answering(self, timeout: float) -> str | None:
        return answering_cluster(self.bootstrap, timeout=timeout, extra_conf=self.client_conf())

    def pid(self) -> int | None:
        return recorded_pid(self.pid_path, BROKER_CLASS, str(self.config_path))

    def status(self) -> BrokerStatus:
        pid = self.pid()
        return BrokerStatus(
            running=pid is not None and self._ours(self._answering(5.0)),
            pid=pid,
            bootstrap=self.bootstrap,
            data_dir=str(self.data_dir),
            kafka_version=self.infra.kafka_version,
            auth=self.auth,
            ca_location=self._ca_location(),
        )

    def _ca_location(self) -> str | None:
        scram = self.scram
        return str(scram.tls.ca_path) if scram is not None else None

    # -- lifecycle -----------------------------------------------------------------------------
    def _write_config(self, port: int, controller_port: int, *, auth: str | None = None) -> None:
        lines = {
            "process.roles": "broker,controller",
            "node.id": "1",
            "listeners": f"PLAINTEXT://127.0.0.1:{port},CONTROLLER://127.0.0.1:{controller_port}",
            "advertised.listeners": f"PLAINTEXT://127.0.0.1:{port}",
            "controller.listener.names": "CONTROLLER",
            "inter.broker.listener.name": "PLAINTEXT",
            "listener.security.protocol.map": "PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT",
            "controller.quorum.bootstrap.servers": f"127.0.0.1:{controller_port}",
            "log.dirs": str(self.log_dir),
            "num.partitions": str(self.settings.default_partitions),
            "offsets.topic.replication.factor": "1",
            "offsets.topic.num.partitions": "10",
            "transaction.state.log.replication.factor": "1",
            "transaction.state.log.min.isr": "1",
            "share.coordinator.state.topic.replication.factor": "1",
            "share.coordinator.state.topic.min.isr": "1",
            "group.initial.rebalance.delay.ms": "0",
            "auto.create.topics.enable": "false",
            "log.retention.check.interval.ms": "60000",
        }
        if (auth or self.auth) == "scram":
            lines.update(ScramListener(self.data_dir).server_properties(port, controller_port))
        self.config_path.touch(mode=0o600)  # the JAAS line holds the broker's own password
        self.config_path.write_text("".join(f"{key}={value}\n" for key, value in lines.items()))

    def _format(self) -> None:
        port = self.settings.port or free_port()
        controller_port = self.settings.controller_port or free_port()
        self.data_dir.mkdir(parents=True, exist_ok=True)
        auth = self.settings.auth
        scram_args = ScramListener(self.data_dir).prepare() if auth == "scram" else []
        self._write_config(port, controller_port, auth=auth)
        uuid = self.infra.run_tool(STORAGE_TOOL_CLASS, "random-uuid")
        cluster_id = uuid.stdout.strip().splitlines()[-1] if uuid.returncode == 0 and uuid.stdout.strip() else ""
        if not cluster_id:
            raise BrokerError(f"kafka-storage random-uuid failed: {uuid.stderr[-1000:]}")
        result = self.infra.run_tool(
            STORAGE_TOOL_CLASS,
            "format",
            "--standalone",
            "--cluster-id",
            cluster_id,
            "--config",
            str(self.config_path),
            *scram_args,
        )
        if result.returncode != 0:
            raise BrokerError(f"kafka-storage format failed: {result.stdout[-1000:]}{result.stderr[-1000:]}")
        state = {"cluster_id": cluster_id, "port": port, "controller_port": controller_port, "auth": auth}
        self.state_path.write_text(json.dumps(state, indent=2) + "\n")
        log.info("broker.formatted", data_dir=str(self.data_dir), cluster_id=cluster_id, port=port)

    def _ours(self, answered: str | None) -> bool:
        """Did our broker answer (the cluster id it was formatted with), rather than none or another one?"""
        return answered is not None and answered == str(self._state().get("cluster_id", ""))

    def _foreign(self, answered: str) -> BrokerError:
        port = self.ports()[0]
        holder = who_listens(port) or "an unknown process"
        return BrokerError(
            f"another Kafka broker (cluster {answered}) answers on port {port}, held by {holder}; this data "
            f"directory's broker is cluster {self._state().get('cluster_id')}. Stop the other broker, or set "
            "MEMLANE_BROKER__PORT / MEMLANE_STATE_DIR to run this one elsewhere"
        )

    def start(self) -> BrokerStatus:
        """Start the broker if it is not running and wait until it answers (it, not another one on its port)."""
        self._check_auth()
        existing = self.pid()
        if existing is not None:
            if self._ours(self._answering(self.settings.start_timeout_s)):
                self._admit()
                return BrokerStatus(
                    True,
                    existing,
                    self.bootstrap,
                    str(self.data_dir),
                    self.infra.kafka_version,
                    already_running=True,
                    auth=self.auth,
                    ca_location=self._ca_location(),
                )
            raise BrokerError(f"broker process {existing} is alive but does not answer on {self.bootstrap}")
        self.infra.ensure_jars()
        began = time.monotonic()
        if not self.formatted():
            self._format()
        port, controller_port = self.ports()
        already = self._answering(1.0)
        if already is not None:
            raise self._foreign(already)
        self._write_config(port, controller_port)
        self.logs_dir.mkdir(parents=True, exist_ok=True)
        command = self.infra.java_command(
            BROKER_CLASS, str(self.config_path), heap=self.settings.heap, logs_dir=self.logs_dir
        )
        process = spawn_detached(command, self.logs_dir / "stdout.log")
        self.pid_path.write_text(f"{process.pid}\n")
        deadline = time.monotonic() + self.settings.start_timeout_s
        while time.monotonic() < deadline:
            if process.poll() is not None:
                self.pid_path.unlink(missing_ok=True)
                raise BrokerError(f"broker exited with {process.returncode} during start:\n{self._log_tail()}")
            answered = self._answering(2.0)
            if answered is not None and not self._ours(answered):
                self.stop()
                raise self._foreign(answered)
            if answered is not None:
                self._admit()
                startup = time.monotonic() - began
                log.info(
                    "broker.started",
                    pid=process.pid,
                    bootstrap=self.bootstrap,
                    startup_s=round(startup, 2),
                    auth=self.auth,
                )
                return BrokerStatus(
                    True,
                    process.pid,
                    self.bootstrap,
                    str(self.data_dir),
                    self.infra.kafka_version,
                    startup_s=startup,
                    auth=self.auth,
                    ca_location=self._ca_location(),
                )
            time.sleep(0.25)
        self.stop()
        raise BrokerError(f"broker did not answer within {self.settings.start_timeout_s:.0f}s:\n{self._log_tail()}")

    def _check_auth(self) -> None:
        if self.formatted() and self.auth != self.settings.auth:
            raise BrokerError(
                f"the broker in {self.data_dir} was formatted with auth {self.auth}, not {self.settings.auth}: "
                "start it as it was formatted, or give it another data directory (MEMLANE_STATE_DIR)"
            )
        if self.settings.auth == "scram":
            ScramListener.check_client(self.client)

    def _admit(self) -> None:
        """With auth: let the settings' SCRAM user in (created, or its password updated)."""
        if self.scram is not None:
            user = self.scram.admit(self.bootstrap, self.client)
            if user is not None:
                log.info("broker.user_admitted", user=user, mechanism="SCRAM-SHA-512")

    def stop(self) -> bool:
        """Stop the broker cleanly (SIGTERM, then SIGKILL after the timeout). True if one was running."""
        pid = self.pid()
        if pid is None:
            self.pid_path.unlink(missing_ok=True)
            return False
        if terminate(pid, self.settings.stop_timeout_s):
            log.warning("broker.kill", pid=pid, reason="did not stop after SIGTERM")
        self.pid_path.unlink(missing_ok=True)
        log.info("broker.stopped", pid=pid)
        return True

    def _log_tail(self, lines: int = 30) -> str:
        path = self.logs_dir / "stdout.log"
        if not path.exists():
            return "(no broker output)"
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])


__all__ = ["BrokerStatus", "LocalBroker", "free_port", "recorded_pid", "spawn_detached", "terminate"]
