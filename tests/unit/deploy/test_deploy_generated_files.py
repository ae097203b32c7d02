"""The committed ops files are what the generators make now, from the catalogue and the reference settings."""

from __future__ import annotations

from pathlib import Path

import pytest

from streams.deploy.__main__ import main
from streams.deploy.render import artefacts, stale, write

REPO = Path(__file__).resolve().parents[3]


def test_every_committed_file_is_up_to_date() -> None:
    differing = stale(REPO, artefacts())
    assert differing == [], f"stale generated files (run `make infra`): {[str(p) for p in differing]}"


def test_rendering_reads_no_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    baseline = artefacts()
    monkeypatch.setenv("MEMLANE_TOPICS__REQUESTS", "someone.elses.requests")
    monkeypatch.setenv("MEMLANE_BROKER__DEFAULT_PARTITIONS", "3")
    monkeypatch.setenv("MEMLANE_EXTRACTION__WORKER_BATCH_SIZE", "7")
    assert artefacts() == baseline


def test_check_mode_names_stale_files_and_write_mode_fixes_them(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    files = artefacts()
    assert write(tmp_path, files) == list(files)
    assert main(["--check", str(tmp_path)]) == 0
    (tmp_path / "infra/k8s/topics.yaml").write_text("# edited by hand\n")
    assert main(["--check", str(tmp_path)]) == 1
    assert "stale: infra/k8s/topics.yaml" in capsys.readouterr().out
    assert main([str(tmp_path)]) == 0
    assert stale(tmp_path, files) == []
