"""Where the Kafka runtime lives (`infra/kafka`) and how its jars are fetched once with Maven.

`infra/kafka/pom.xml` names the Kafka version; `mvn package` copies the broker, tools and logging
jars into `infra/kafka/lib` (ignored by git). Java classes used: `kafka.Kafka` (broker+controller),
`kafka.tools.StorageTool` (random-uuid, format), `org.apache.kafka.tools.TopicCommand` and
`org.apache.kafka.tools.consumer.group.ConsumerGroupCommand` (ops tools, see `infra/kafka/bin`).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

from schemas.errors import BrokerError

BROKER_CLASS = "kafka.Kafka"
STORAGE_TOOL_CLASS = "kafka.tools.StorageTool"
TOPIC_COMMAND_CLASS = "org.apache.kafka.tools.TopicCommand"
CONSUMER_GROUP_COMMAND_CLASS = "org.apache.kafka.tools.consumer.group.ConsumerGroupCommand"


def java_binary() -> str:
    """`$JAVA_HOME/bin/java`, else the `java` on the PATH (the broker and the schema registry need JDK 17+)."""
    java_home = os.environ.get("JAVA_HOME")
    candidate = Path(java_home) / "bin" / "java" if java_home else None
    if candidate and candidate.exists():
        return str(candidate)
    found = shutil.which("java")
    if found is None:
        raise BrokerError("a Java runtime (JDK 17+) is required to run the Kafka broker and the schema registry")
    return found


@dataclass(frozen=True)
class KafkaInfra:
    """The `infra/kafka` folder: POM, logging config and the fetched jars."""

    root: Path

    @classmethod
    def under(cls, infra_dir: Path) -> KafkaInfra:
        """The Kafka runtime in `<infra_dir>/kafka` (`BrokerSettings.infra_dir`)."""
        root = (infra_dir / "kafka").resolve()
        if not (root / "pom.xml").is_file():
            raise BrokerError(
                f"no Kafka runtime POM at {root / 'pom.xml'}: run from the memlane checkout, "
                "or point MEMLANE_BROKER__INFRA_DIR at its infra/ folder"
            )
        return cls(root)

    @property
    def lib_dir(self) -> Path:
        return self.root / "lib"

    @property
    def log4j_config(self) -> Path:
        return self.root / "log4j2.yaml"

    @property
    def classpath(self) -> str:
        return f"{self.lib_dir}/*"

    @property
    def kafka_version(self) -> str:
        match = re.search(r"<kafka.version>([^<]+)</kafka.version>", (self.root / "pom.xml").read_text())
        if not match:
            raise BrokerError(f"{self.root / 'pom.xml'} does not set kafka.version")
        return match.group(1)

    def jars_present(self) -> bool:
        return (self.lib_dir / f"kafka_2.13-{self.kafka_version}.jar").exists() and (
            self.lib_dir / f"kafka-tools-{self.kafka_version}.jar"
        ).exists()

    def ensure_jars(self) -> None:
        """Fetch the jars through Maven once; later calls find them and return at once."""
        if self.jars_present():
            return
        mvn = shutil.which("mvn")
        if mvn is None:
            raise BrokerError("Maven (mvn) is required to fetch the Kafka jars; install Maven 3.8+ and JDK 17")
        result = subprocess.run(
            [mvn, "-q", "-B", "-f", str(self.root / "pom.xml"), "package"],
            capture_output=True,
            text=True,
            check=False,
        )
        if result.returncode != 0 or not self.jars_present():
            raise BrokerError(f"mvn could not fetch the Kafka jars:\n{result.stdout[-2000:]}{result.stderr[-2000:]}")

    def java(self) -> str:
        return java_binary()

    def java_command(
        self,
        main_class: str,
        *args: str,
        heap: str | None = None,
        logs_dir: Path | None = None,
        tool: bool = False,
    ) -> list[str]:
        command = [self.java()]
        if heap:
            command += [f"-Xms{heap}", f"-Xmx{heap}"]
        command += [
            "-XX:+UseG1GC",
            "-Djava.awt.headless=true",
            f"-Dlog4j2.configurationFile={self.root / 'log4j2-tools.yaml' if tool else self.log4j_config}",
        ]
        if logs_dir is not None:
            command.append(f"-Dkafka.logs.dir={logs_dir}")
        command += ["-cp", self.classpath, main_class, *args]
        return command

    def run_tool(self, main_class: str, *args: str, timeout: float = 120.0) -> subprocess.CompletedProcess[str]:
        """Run one of Kafka's command-line tools to completion."""
        self.ensure_jars()
        return subprocess.run(
            self.java_command(main_class, *args, heap="256m", tool=True),
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )


__all__ = [
    "BROKER_CLASS",
    "CONSUMER_GROUP_COMMAND_CLASS",
    "STORAGE_TOOL_CLASS",
    "TOPIC_COMMAND_CLASS",
    "KafkaInfra",
    "java_binary",
]
