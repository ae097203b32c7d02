"""The settings reference is generated from the model: every setting has a description, and the committed
docs/settings.md is what the model says today."""

from __future__ import annotations

from pathlib import Path

from streams.settings import Settings
from streams.settings_reference import markdown, setting_docs

ROOT = Path(__file__).resolve().parents[3]


def test_every_setting_has_a_description() -> None:
    undescribed = [doc.variable for doc in setting_docs() if not doc.description]
    assert not undescribed, f"settings without a description (add a docstring under the field): {undescribed}"


def test_every_field_is_a_variable_or_a_section_of_them() -> None:
    docs = setting_docs()
    variables, sections = {doc.variable for doc in docs}, {doc.section for doc in docs}
    assert {
        "MEMLANE_KAFKA_BOOTSTRAP",
        "MEMLANE_EXTRACTION__FAST_MODEL",
        "MEMLANE_PROCESSORS__WEIGHTS__FACT",
    } <= variables
    for name in Settings.model_fields:
        assert f"MEMLANE_{name.upper()}" in variables or name in sections, name
    assert "MEMLANE_SASL_PASSWORD" in variables and all(
        doc.default in ("unset", "(secret)") for doc in docs if "PASSWORD" in doc.variable
    )


def test_the_committed_reference_is_current() -> None:
    committed = (ROOT / "docs" / "settings.md").read_text(encoding="utf-8")
    assert committed == markdown(), "docs/settings.md is stale: run memlane settings --markdown docs/settings.md"
