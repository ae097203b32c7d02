"""The pipeline as a fleet of child processes: start, kill -9, add and remove members, stop them all.

    with Fleet(settings, log_dir) as fleet:
        for name in PIPELINE:
            fleet.start(name)                    # `memlane worker NAME`, or `memlane serve` on a free port
        fleet.kill("extract")                    # SIGKILL, and waits until it is gone
        fleet.wait_ready(fleet.start("extract")) # a new member, back in its consumer group
        fleet.stop("extract")                    # SIGTERM: it finishes its batch, commits and leaves
    # whatever still runs is stopped: SIGTERM, then SIGKILL after the grace period

Every member is a real process started by this interpreter with the fleet's configuration
(`streams.wiring.processes`), its output in `<log_dir>/<name>-<n>.log` and a Kafka client id of its own
(`memlane-<name>-<n>`), so the consumer group's member list names it: a worker is ready once its group
lists it, `serve` once `/healthz` answers. A member that exits without being killed or stopped by the
fleet is `unexpected`: what a fault scenario checks after an outage. `memlane bench soak` and the
scenario tests (`tests/scenarios`) run the pipeline this way.
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Self

import httpx
from confluent_kafka import KafkaException
from confluent_kafka.admin import AdminClient

from schemas.errors import MemlaneError
from streams.broker.local import free_port
from streams.settings import Settings
from streams.wiring.processes import child_environment, serve_command, worker_command
from streams.wiring.workers import WORKERS, worker_inputs

SERVE = "serve"
PIPELINE: tuple[str, ...] = ("processors", "extract", "fallback", "sink-blobs", "sink-qdrant")
"""Every worker of the pipeline, upstream first."""


@dataclass
class Member:
    """One process of the fleet."""

    name: str
    number: int
    process: subprocess.Popen[bytes]
    log_path: Path
    client_id: str
    port: int | None = None
    ended_by_fleet: bool = False
    started_at: float = field(default_factory=time.monotonic)

    @property
    def pid(self) -> int:
        return self.process.pid

    @property
    def alive(self) -> bool:
        return self.process.poll() is None

    @property
    def url(self) -> str:
        """Where a `serve` member listens."""
        if self.port is None:
            raise MemlaneError(f"{self.name}-{self.number} is not a search service")
        return f"http://127.0.0.1:{self.port}"

    def log_tail(self, chars: int = 3000) -> str:
        return self.log_path.read_text(errors="replace")[-chars:] if self.log_path.exists() else ""


class Fleet:
    """Child processes of one configuration; `env` is added to every child's environment."""

    def __init__(
        self, settings: Settings, log_dir: Path, *, env: Mapping[str, str] | None = None, grace_s: float = 30.0
    ) -> None:
        self.settings = settings
        self.log_dir = log_dir
        self.env = dict(env or {})
        self.grace_s = grace_s
        self.members: list[Member] = []

    # --- starting ---------------------------------------------------------------------------------
    def start(self, name: str, *, env: Mapping[str, str] | None = None) -> Member:
        """One more member of `name` (a worker of `WORKERS`, or `serve`)."""
        if name != SERVE and name not in WORKERS:
            raise MemlaneError(f"unknown component {name!r}; known: {', '.join([*WORKERS, SERVE])}")
        number = 1 + sum(1 for m in self.members if m.name == name)
        client_id = f"memlane-{name}-{number}"
        port = free_port() if name == SERVE else None
        command = serve_command(port) if port is not None else worker_command(name)
        child = {**child_environment(self._member_settings(name, client_id)), **self.env}
        child.update(env or {})
        self.log_dir.mkdir(parents=True, exist_ok=True)
        log_path = self.log_dir / f"{name}-{number}.log"
        with log_path.open("ab") as out:
            process = subprocess.Popen(
                command, env=child, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL
            )
        member = Member(name, number, process, log_path, client_id, port)
        self.members.append(member)
        return member

    def _member_settings(self, name: str, client_id: str) -> Settings:
        """The fleet's settings with the member's client id; a processors member gets a RocksDB directory of
        its own (one per worker process), which it fills from the changelog."""
        update: dict[str, object] = {"client_id": client_id}
        if name == "processors":
            app = self.settings.processor_app
            tables = app.data_dir or self.settings.state_dir / "processors"
            update["processor_app"] = app.model_copy(update={"data_dir": tables / client_id})
        return self.settings.model_copy(update=update)

    def start_all(self, names: Sequence[str] = PIPELINE) -> list[Member]:
        """One member of each of `names`, then wait until all are ready."""
        started = [self.start(name) for name in names]
        for member in started:
            self.wait_ready(member)
        return started

    def wait_ready(self, member: Member, *, timeout_s: float = 120.0) -> float:
        """Wait until `member` is in its consumer group (or, for `serve`, answers); seconds it took."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if not member.alive:
                raise MemlaneError(
                    f"{member.name}-{member.number} exited with {member.process.returncode}:\n{member.log_tail()}"
                )
            if self._ready(member):
                return time.monotonic() - member.started_at
            time.sleep(0.25)
        raise MemlaneError(f"{member.name}-{member.number} not ready after {timeout_s:.0f}s:\n{member.log_tail()}")

    def _ready(self, member: Member) -> bool:
        if member.port is not None:
            try:
                return httpx.get(f"{member.url}/healthz", timeout=2.0).status_code == 200
            except httpx.HTTPError:
                return False
        return member.client_id in self.group_members(member.name)

    def group_members(self, name: str) -> list[str]:
        """Client ids of the members the consumer group of worker `name` lists now."""
        group = worker_inputs(self.settings)[name][0]
        # an admin client per look-up: one kept across a broker restart could not be destroyed afterwards
        # (librdkafka waited for its broker thread without end)
        admin = AdminClient(self.settings.kafka_config())
        try:
            (description,) = [f.result(10) for f in admin.describe_consumer_groups([group]).values()]
        except (KafkaException, TimeoutError):  # a busy broker answers later: not a member yet
            return []
        return [m.client_id for m in description.members]

    # --- ending -------------------------------------------------------------------------------------
    def alive(self, name: str | None = None) -> list[Member]:
        return [m for m in self.members if m.alive and (name is None or m.name == name)]

    def kill(self, name: str, *, sig: signal.Signals = signal.SIGKILL) -> Member:
        """Send `sig` (default SIGKILL) to the newest live member of `name` and wait until it is gone."""
        live = self.alive(name)
        if not live:
            raise MemlaneError(f"no live member of {name} to kill")
        member = live[-1]
        member.ended_by_fleet = True
        os.kill(member.pid, sig)
        member.process.wait(self.grace_s)
        return member

    def stop(self, name: str | None = None, *, member: Member | None = None) -> dict[str, int]:
        """SIGTERM `member`, or every live member (of `name`), wait out the grace period, then SIGKILL;
        exit codes by member."""
        targets = [member] if member is not None else self.alive(name)
        for each in targets:
            each.ended_by_fleet = True
            if each.alive:
                each.process.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + self.grace_s
        for each in targets:
            try:
                each.process.wait(max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                each.process.kill()
                each.process.wait()
        return {f"{each.name}-{each.number}": each.process.returncode for each in targets}

    def unexpected(self) -> list[Member]:
        """Members that exited although the fleet neither killed nor stopped them."""
        return [m for m in self.members if not m.alive and not m.ended_by_fleet]

    def pids(self) -> dict[str, int]:
        """`<name>-<n>` -> pid of every live member."""
        return {f"{m.name}-{m.number}": m.pid for m in self.members if m.alive}

    def close(self) -> None:
        self.stop()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()


__all__ = ["PIPELINE", "SERVE", "Fleet", "Member"]
