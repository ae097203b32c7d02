"""`memlane deploy render`: the committed files by default, an operator's own settings with --from-env."""

from __future__ import annotations

from pathlib import Path

import pytest
import typer
import yaml
from typer.testing import CliRunner

from streams.cli import deploy_cmd
from streams.cli.context import settings_from_context

REPO = Path(__file__).resolve().parents[3]


def _cli() -> typer.Typer:
    app = typer.Typer()

    @app.callback()
    def _root(ctx: typer.Context) -> None:
        ctx.obj = settings_from_context(ctx)

    app.add_typer(deploy_cmd.app, name="deploy")
    return app


def test_check_passes_on_the_repository() -> None:
    result = CliRunner().invoke(_cli(), ["deploy", "render", "--check", "--out", str(REPO)])
    assert result.exit_code == 0, result.output


def test_from_env_renders_this_environments_topics_and_partitions(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MEMLANE_TOPICS__REQUESTS", "acme.requests.v1")
    monkeypatch.setenv("MEMLANE_BROKER__DEFAULT_PARTITIONS", "24")
    result = CliRunner().invoke(_cli(), ["deploy", "render", "--from-env", "--out", str(tmp_path)])
    assert result.exit_code == 0, result.output
    topics = [d for d in yaml.safe_load_all((tmp_path / "infra/k8s/topics.yaml").read_text()) if d]
    assert {t["spec"]["topicName"]: t["spec"]["partitions"] for t in topics}["acme.requests.v1"] == 24
    (scaler,) = [d for d in yaml.safe_load_all((tmp_path / "infra/k8s/keda.yaml").read_text()) if d]
    assert scaler["spec"]["maxReplicaCount"] == 24
    assert scaler["spec"]["triggers"][0]["metadata"]["topic"] == "acme.requests.v1"
    stale = CliRunner().invoke(_cli(), ["deploy", "render", "--check", "--out", str(tmp_path)])
    assert stale.exit_code == 1, "the reference render differs from this environment's"
