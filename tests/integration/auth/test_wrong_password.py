"""A wrong password fails fast, with an error that names what to check and never the value.

On the real SCRAM broker, at once: the extraction worker (the confluent consumer loop), the publisher (the
reliable producer) and a processors worker process (faust over aiokafka) are given a wrong password. Each
stops within its grace period (`AUTH_GRACE_S`, 15 s) plus start-up, naming MEMLANE_SASL_PASSWORD, and nothing
it printed holds the wrong password or the right one.
"""

from __future__ import annotations

import subprocess
import threading
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest
from scenarios.scenario_support import record
from scram_support import CANARY_PASSWORD, settings_on

from schemas.errors import BrokerError, DeliveryError
from schemas.events import ConversationTurn, Role
from streams.broker import BrokerStatus, LocalBroker
from streams.settings import Settings
from streams.wiring.processes import child_environment, worker_command
from streams.wiring.stores import publisher
from streams.wiring.workers import run_extract

FAIL_FAST_S = 60.0
"""The grace period (15 s) plus a client's start-up and timeouts on a loaded two-core machine."""


def _turn() -> ConversationTurn:
    return ConversationTurn(
        event_id="evt-auth-1",
        conversation_id="conv-auth",
        turn_index=0,
        tenant_id="default",
        user_id="ana",
        platform="test",
        role=Role.USER,
        content="I moved to Lisbon in May.",
        token_count=8,
        event_time=datetime.now(UTC),
    )


def test_a_wrong_password_stops_every_client_fast_with_a_clear_error(
    scram_broker: tuple[LocalBroker, BrokerStatus],
    scram_settings: Settings,
    tmp_path: Path,
    capfd: pytest.CaptureFixture[str],
) -> None:
    wrong = f"wrong-{CANARY_PASSWORD[::-1]}"
    bad = settings_on(scram_broker[1], tmp_path / "bad", password=wrong).model_copy(
        update={"topics": scram_settings.topics}
    )
    began = time.monotonic()
    log_path = tmp_path / "processors.log"
    with log_path.open("wb") as out:
        processors = subprocess.Popen(
            worker_command("processors", idle_exit_s=5.0),
            env=child_environment(bad),
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
        )
    outcomes: dict[str, tuple[float, BaseException | None]] = {}

    def publish() -> None:
        try:
            with publisher(bad) as turns:
                turns.publish(_turn())
                turns.producer.flush(120)
            outcomes["publisher"] = (time.monotonic() - began, None)
        except BaseException as exc:
            outcomes["publisher"] = (time.monotonic() - began, exc)

    thread = threading.Thread(target=publish, name="wrong-password-publisher")
    thread.start()
    try:
        run_extract(bad, idle_exit_s=2.0)
        outcomes["extract worker"] = (time.monotonic() - began, None)
    except BrokerError as exc:
        outcomes["extract worker"] = (time.monotonic() - began, exc)
    thread.join(120)
    code = processors.wait(120)
    outcomes["processors worker"] = (time.monotonic() - began, None)
    processors_log = log_path.read_text(errors="replace")
    captured = capfd.readouterr()
    record(
        "wrong SCRAM password: every client stops",
        **{name.replace(" ", "_") + "_s": round(took, 1) for name, (took, _error) in outcomes.items()},
        processors_exit=code,
    )

    took, error = outcomes["extract worker"]
    assert isinstance(error, BrokerError) and took < FAIL_FAST_S
    assert "MEMLANE_SASL_PASSWORD" in str(error)
    took, error = outcomes["publisher"]
    assert isinstance(error, DeliveryError) and took < FAIL_FAST_S
    assert "MEMLANE_SASL_PASSWORD" in str(error)
    assert code != 0 and outcomes["processors worker"][0] < FAIL_FAST_S
    assert "MEMLANE_SASL_PASSWORD" in processors_log
    for text in (captured.out, captured.err, processors_log):
        assert wrong not in text and CANARY_PASSWORD not in text
