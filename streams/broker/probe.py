"""Is a Kafka broker answering at a bootstrap address, and which one? A TCP check, then a metadata request.

`cluster_id` says which cluster answered (the local broker checks it against the id it formatted, so a
foreign broker on its port is never taken for it); `who_listens` names the process holding a port.
"""

from __future__ import annotations

import os
import socket
import time
from pathlib import Path
from typing import Any

from confluent_kafka import KafkaException
from confluent_kafka.admin import AdminClient


def _tcp_open(bootstrap: str) -> bool:
    for server in bootstrap.split(","):
        host, _, port = server.strip().rpartition(":")
        try:
            with socket.create_connection((host or "127.0.0.1", int(port)), timeout=1.0):
                return True
        except (OSError, ValueError):
            continue
    return False


def cluster_id(bootstrap: str, timeout: float = 5.0, extra_conf: dict[str, Any] | None = None) -> str | None:
    """The cluster id of the broker answering at `bootstrap` within `timeout` seconds, or None."""
    deadline = time.monotonic() + timeout
    while not _tcp_open(bootstrap):
        if time.monotonic() >= deadline:
            return None
        time.sleep(0.2)
    admin = AdminClient({"bootstrap.servers": bootstrap, "socket.timeout.ms": 3000, **(extra_conf or {})})
    remaining = max(0.5, deadline - time.monotonic())
    try:
        metadata = admin.list_topics(timeout=remaining)
    except KafkaException:
        return None
    return str(metadata.cluster_id or "") if metadata.brokers else None


def broker_answers(bootstrap: str, timeout: float = 5.0, extra_conf: dict[str, Any] | None = None) -> bool:
    """True when a broker at `bootstrap` returns cluster metadata within `timeout` seconds."""
    return cluster_id(bootstrap, timeout, extra_conf) is not None


def _listening_inodes(port: int) -> set[str]:
    inodes: set[str] = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            rows = Path(table).read_text().splitlines()[1:]
        except OSError:
            continue
        for row in rows:
            fields = row.split()
            local, state, inode = fields[1], fields[3], fields[9]
            if state == "0A" and int(local.rsplit(":", 1)[1], 16) == port:  # 0A: LISTEN
                inodes.add(inode)
    return inodes


def who_listens(port: int) -> str | None:
    """`pid N (command line)` of the process listening on TCP `port`, when this machine lets us see it."""
    inodes = _listening_inodes(port)
    if not inodes:
        return None
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            for fd in (proc / "fd").iterdir():
                target = os.readlink(fd)
                if target.startswith("socket:[") and target[8:-1] in inodes:
                    command = (proc / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace").strip()
                    return f"pid {proc.name} ({command[:200]})"
        except OSError:
            continue
    return "a process this user cannot see"


__all__ = ["broker_answers", "cluster_id", "who_listens"]
