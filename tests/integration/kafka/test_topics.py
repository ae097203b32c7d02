"""Topic provisioning is idempotent and reports drift; `memlane topics` works against the real broker."""

from __future__ import annotations

from confluent_kafka.admin import AdminClient, NewTopic
from typer.testing import CliRunner

from streams.cli import app
from streams.kafka.provision import describe_topics, provision, wait_for_leaders
from streams.kafka.topic_catalogue import DAY_MS
from streams.settings import Settings


def test_provision_twice_changes_nothing(kafka_settings: Settings) -> None:
    admin = AdminClient(kafka_settings.kafka_config())
    specs = kafka_settings.topic_catalogue()
    before = describe_topics(admin, [s.name for s in specs])
    report = provision(admin, specs)
    assert report.created == [] and report.differs == {}
    assert sorted(report.unchanged) == sorted(s.name for s in specs)
    assert describe_topics(admin, [s.name for s in specs]) == before
    turns = before[kafka_settings.topics.turns]
    assert turns.partitions == 3
    assert turns.configs["retention.ms"] == str(90 * DAY_MS)
    assert turns.configs["cleanup.policy"] == "delete"


def test_differing_topic_is_reported_clearly(kafka_settings: Settings) -> None:
    admin = AdminClient(kafka_settings.kafka_config())
    name = kafka_settings.topics.turns + ".drift"
    admin.create_topics([NewTopic(name, num_partitions=1, replication_factor=1, config={"retention.ms": "1000"})])[
        name
    ].result(30)
    wait_for_leaders(admin, [name])
    spec = kafka_settings.topic_catalogue()[0]
    drifted = type(spec)(**{**spec.__dict__, "name": name})
    report = provision(admin, [drifted])
    assert not report.ok
    problems = report.differs[name]
    assert any("partitions: cluster has 1, catalogue wants 3" in p for p in problems)
    assert any(p.startswith("retention.ms: cluster has 1000") for p in problems)


def test_topics_cli_create_and_list(kafka_settings: Settings) -> None:
    env = {
        "MEMLANE_KAFKA_BOOTSTRAP": kafka_settings.kafka_bootstrap,
        "MEMLANE_BROKER__DEFAULT_PARTITIONS": "3",
        "COLUMNS": "250",
        **{f"MEMLANE_TOPICS__{k.upper()}": v for k, v in kafka_settings.topics.model_dump().items()},
    }
    runner = CliRunner()
    created = runner.invoke(app, ["topics", "create", "--strict"], env=env)
    assert created.exit_code == 0, created.output
    assert created.output.count("unchanged") == len(kafka_settings.topics.all())
    listed = runner.invoke(app, ["topics", "list"], env=env)
    assert listed.exit_code == 0
    for name in kafka_settings.topics.model_dump().values():
        assert name in listed.output
