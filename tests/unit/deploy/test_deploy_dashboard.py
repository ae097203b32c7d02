"""The dashboard JSON is one Grafana's own models decode, laid out on the 24-column grid without overlaps."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from grafana_foundation_sdk.cog.encoder import JSONEncoder
from grafana_foundation_sdk.cog.plugins import register_default_plugins
from grafana_foundation_sdk.models.dashboard import Dashboard

from streams.deploy.dashboard import UID, expressions
from streams.deploy.promql import parse

BOARD = Path(__file__).resolve().parents[3] / "infra/grafana/memlane.json"


def _board() -> dict[str, Any]:
    return dict(json.loads(BOARD.read_text()))


def test_grafanas_models_decode_it_unchanged() -> None:
    register_default_plugins()
    document = _board()
    assert json.loads(JSONEncoder(sort_keys=True).encode(Dashboard.from_json(document))) == document
    assert document["uid"] == UID


def test_panels_fit_the_grid_without_overlapping() -> None:
    cells: dict[tuple[int, int], str] = {}
    for panel in _board()["panels"]:
        grid = panel["gridPos"]
        assert grid["x"] + grid["w"] <= 24, panel["title"]
        for x in range(grid["x"], grid["x"] + grid["w"]):
            for y in range(grid["y"], grid["y"] + grid["h"]):
                assert (x, y) not in cells, f"{panel['title']} overlaps {cells[(x, y)]}"
                cells[(x, y)] = panel["title"]


def test_every_panel_says_what_it_shows_and_queries_the_chosen_prometheus() -> None:
    panels = [p for p in _board()["panels"] if p["type"] != "row"]
    assert len({p["title"] for p in panels}) == len(panels)
    for panel in panels:
        assert panel["description"] and panel["targets"], panel["title"]
        assert panel["datasource"] == {"type": "prometheus", "uid": "${datasource}"}
        assert all(t["datasource"] == panel["datasource"] for t in panel["targets"])
    for _title, expr in expressions(_board()):
        parse(expr)
    issue = ["lag", "Throughput", "Skip reasons", "Tokens forwarded", "Fallback rate", "Paid", "cost", "Freshness"]
    titles = " ".join(p["title"] for p in panels)
    assert all(word in titles for word in issue)
