"""Every CLI command reports a Kafka client error in one line with a hint, not a traceback."""

from __future__ import annotations

import pytest
import typer
from confluent_kafka import KafkaError, KafkaException

from streams.cli.context import EXIT_ERROR, reported_errors


def test_a_kafka_client_error_is_one_line_with_a_hint(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(typer.Exit) as stopped, reported_errors():
        raise KafkaException(
            KafkaError(KafkaError._TRANSPORT, "Failed to get metadata: Local: Broker transport failure")
        )
    assert stopped.value.exit_code == EXIT_ERROR
    said = capsys.readouterr().err.strip()
    assert said.startswith("error: Kafka: Failed to get metadata") and "MEMLANE_KAFKA_BOOTSTRAP" in said
    assert "Traceback" not in said
