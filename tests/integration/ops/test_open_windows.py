"""Turns waiting in a processors' pending window are accounted as such by `memlane verify`, not as lost."""

from __future__ import annotations

import signal
import time
from datetime import UTC, datetime
from pathlib import Path

from typer.testing import CliRunner

from schemas.events import ConversationTurn, Role
from streams.cli import app
from streams.kafka.consumer_lag import LagMonitor
from streams.settings import Settings
from streams.wiring.accounting import verify_deployment
from streams.wiring.processes import spawn_worker
from streams.wiring.stores import publisher


def test_turns_in_an_open_window_are_waiting_not_lost(kafka_settings: Settings, tmp_path: Path) -> None:
    app_settings = kafka_settings.processor_app.model_copy(update={"app_id": f"windows-{kafka_settings.topics.turns}"})
    settings = kafka_settings.model_copy(update={"tenant_id": "acme", "processor_app": app_settings})
    processors = spawn_worker(settings, "processors", log_path=tmp_path / "processors.log")
    try:
        with publisher(settings) as out:
            for index in range(5):
                text = f"I keep {index + 3} lemon trees on my balcony in Lisbon."
                out.publish(
                    ConversationTurn(
                        event_id=f"w-{index}",
                        conversation_id="window-1",
                        turn_index=index,
                        tenant_id="acme",
                        user_id="ana",
                        platform="web",
                        role=Role.USER,
                        content=text,
                        token_count=len(text.split()),
                        event_time=datetime.now(UTC),
                    )
                )
        monitor = LagMonitor(settings.kafka)
        group = {settings.processor_app.app_id: [settings.topics.turns]}
        deadline = time.monotonic() + 90
        while True:
            rows = monitor.measure(group)
            if rows and all(row.lag == 0 and row.committed is not None for row in rows if row.log_end):
                break
            assert time.monotonic() < deadline, (tmp_path / "processors.log").read_text()[-3000:]
            time.sleep(1.0)
        time.sleep(2.0)  # the changelog record of the last state is acknowledged before the offset
        report = verify_deployment(settings)
        assert (report.turns, report.turns_in_open_windows, report.turns_lost) == (5, 5, 0), report.as_dict()
        assert report.verdict == "ALL-TURNS-ACCOUNTED"
        shown = CliRunner().invoke(app, ["verify"], env={**settings.to_env(), "COLUMNS": "200"})
        assert "waiting in an open window" in shown.output and "ALL-TURNS-ACCOUNTED" in shown.output, shown.output
    finally:
        processors.send_signal(signal.SIGTERM)
        processors.wait(60)
