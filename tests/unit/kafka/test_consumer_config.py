"""The consumers' session timeout follows `MEMLANE_CONSUMER_SESSION_TIMEOUT_S` (a killed member's partitions
move on after it), and children started with `Settings.to_env()` get the same."""

from __future__ import annotations

import pytest

from schemas.errors import MemlaneError
from streams.kafka.consumer import consumer_config
from streams.settings import Settings


def test_the_default_session_is_30_s_and_the_setting_shortens_it() -> None:
    assert consumer_config(Settings().kafka, "g")["session.timeout.ms"] == 30000
    settings = Settings(consumer_session_timeout_s=6.0)
    conf = consumer_config(settings.kafka, "g", **{"max.poll.interval.ms": 900000})
    assert conf["session.timeout.ms"] == 6000 and conf["max.poll.interval.ms"] == 900000
    assert conf["enable.auto.commit"] is False and conf["group.id"] == "g"


def test_a_child_gets_the_session_timeout() -> None:
    env = Settings(consumer_session_timeout_s=8.0).to_env()
    assert env["MEMLANE_CONSUMER_SESSION_TIMEOUT_S"] == "8.0"


@pytest.mark.parametrize("seconds", [1.0, 301.0])
def test_outside_what_the_broker_allows_is_refused(seconds: float) -> None:
    with pytest.raises((MemlaneError, ValueError), match="consumer_session_timeout_s"):
        Settings(consumer_session_timeout_s=seconds)
