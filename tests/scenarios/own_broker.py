"""A broker of one test's own, which it may stop, kill -9 and start again (the session broker serves the others).

    with OwnBroker(tmp_path / "kafka") as broker:
        settings = broker.settings(tmp_path)      # pointing at it, its topics provisioned
        broker.stop()                             # SIGTERM: a clean shutdown
        broker.kill()                             # SIGKILL of the JVM
        broker.start()                            # the same data directory, so the same ports and cluster id

The broker is a `LocalBroker` on free loopback ports chosen when its data directory is formatted; restarts
reuse them (`broker.json`), so clients find it where they left it.
"""

from __future__ import annotations

import gc
import os
import signal
import time
from pathlib import Path
from types import TracebackType
from typing import Self

from confluent_kafka.admin import AdminClient

from streams.broker import LocalBroker
from streams.broker.local import _process_alive
from streams.kafka.provision import provision
from streams.settings import BrokerSettings, Settings, TopicNames


class OwnBroker:
    def __init__(self, data_dir: Path) -> None:
        self.broker = LocalBroker(BrokerSettings(data_dir=data_dir, port=0, controller_port=0, heap="384m"))
        self.startup_s: list[float] = []

    @property
    def bootstrap(self) -> str:
        return self.broker.bootstrap

    def start(self) -> float:
        """Start it (again) and wait until it answers; seconds it took."""
        status = self.broker.start()
        self.startup_s.append(status.startup_s or 0.0)
        return status.startup_s or 0.0

    def stop(self) -> None:
        """A clean shutdown (SIGTERM, the broker's own timeout, then SIGKILL)."""
        assert self.broker.stop(), "the broker was not running"

    def kill(self) -> None:
        """SIGKILL of the broker JVM, and wait until it is gone."""
        pid = self.broker.pid()
        assert pid is not None, "the broker was not running"
        os.kill(pid, signal.SIGKILL)
        while _process_alive(pid):
            time.sleep(0.05)
        self.broker._reap(pid)

    def settings(self, work: Path, *, partitions: int = 3) -> Settings:
        """Settings pointing at this broker, with topics of their own provisioned on it."""
        settings = Settings(
            kafka_bootstrap=self.bootstrap,
            topics=TopicNames(),
            state_dir=work / "memlane",
            broker=BrokerSettings(default_partitions=partitions),
        )
        report = provision(AdminClient(settings.kafka_config()), settings.topic_catalogue())
        assert len(report.created) == len(settings.topic_catalogue())
        return settings

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        pid = self.broker.pid()
        gc.collect()  # the test's idle Kafka clients go while their broker still answers
        self.broker.stop()
        assert pid is None or not _process_alive(pid), "the test's broker outlived it"


__all__ = ["OwnBroker"]
