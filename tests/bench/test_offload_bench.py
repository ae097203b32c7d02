"""`memlane bench offload` on a tiny fabricated data dir: the report has its keys and sane numbers."""

from __future__ import annotations

import json
import math
import random
import tempfile
from pathlib import Path

from streams.bench.contract import BenchOptions
from streams.bench.offload_bench import run
from streams.settings import Settings


def _fabricate(data_dir: Path) -> None:
    rng = random.Random(7)
    logs = data_dir / "loghub_2k"
    logs.mkdir(parents=True)
    for name in ("HDFS", "Linux"):
        lines = [
            f"081109 2035{i % 60:02d} {rng.randint(1, 999)} INFO dfs.DataNode: Received block "
            f"blk_{rng.getrandbits(40)} of size {rng.randint(1, 1 << 26)} "
            f"from /10.250.{rng.randint(0, 255)}.{rng.randint(0, 255)}\n"
            for i in range(1200)
        ]
        (logs / f"{name}_2k.log").write_text("".join(lines))
    (logs / "README.md").write_text("tiny loghub\n")
    trajs = data_dir / "swe_agent_trajs" / "trajectories"
    trajs.mkdir(parents=True)
    listing = "".join(f"-rw-r--r-- 1 root root {rng.randint(100, 9999)} src/module_{i}.py\n" for i in range(400))
    traj = {
        "environment": "swe_main",
        "trajectory": [
            {
                "action": "ls -la src",
                "observation": listing,
                "thought": "look",
                "response": "ls",
                "state": "{}",
            },
            {"action": "pwd", "observation": "/repo", "thought": "where", "response": "pwd", "state": "{}"},
        ],
        "history": [{"role": "user", "content": "fix the bug", "agent": "primary"}],
        "info": {},
    }
    (trajs / "demo.traj").write_text(json.dumps(traj, indent=2))
    mini = [
        {"role": "system", "content": "you are an agent"},
        {"role": "user", "content": "the task"},
        {"role": "assistant", "content": "cat big.log"},
        {"role": "user", "content": listing.replace("src", "lib")},
    ]
    (data_dir / "swe_agent_trajs" / "mini.traj.json").write_text(json.dumps(mini))


def test_offload_bench_on_tiny_data(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    _fabricate(data_dir)
    results_dir = tmp_path / "results"
    before = {p.name for p in Path(tempfile.gettempdir()).glob("memlane-bench-offload-*")}

    report = run(BenchOptions(Settings(data_dir=data_dir), results_dir=results_dir))
    report.write(results_dir)
    result = report.as_dict()

    on_disk = json.loads((results_dir / "offload.json").read_text())
    assert on_disk["benchmark"] == "offload"
    for key in (
        "compression_ratio",
        "offload_p95_ms",
        "goal_compression_ratio",
        "goal_offload_p95_ms",
        "meets_goals",
        "write_p50_ms",
        "write_p95_ms",
        "slice_bytes_p95_ms",
        "slice_lines_p95_ms",
        "dedupe_added_bytes",
        "compression_ratio_by_source",
        "rows",
    ):
        assert key in on_disk, key
        assert key in result, key
    assert on_disk["goal_compression_ratio"] == 10
    assert on_disk["goal_offload_p95_ms"] == 5
    assert result["compression_ratio"] > 1.5  # repetitive logs compress
    assert 0 < result["write_p50_ms"] <= result["write_p95_ms"] < 5_000
    assert 0 < result["offload_p95_ms"] < 5_000
    assert result["dedupe_added_bytes"] == 0
    assert result["dedupe_ok"] is True
    assert result["tool_outputs_seen"] == 3  # two SWE-agent observations, one mini-swe-agent output
    assert result["tool_outputs_offloaded"] == 2  # the two listings are over 6000 chars
    assert result["chunks_timed"] >= 2
    assert result["meets_goals"] == (result["compression_ratio"] >= 10 and result["offload_p95_ms"] <= 5)
    levels = {row["level"] for row in result["rows"]}
    assert levels == {3, 10, 19}
    sources = {row["source"] for row in result["rows"]}
    assert sources == {"loghub_2k", "swe_agent_trajs", "swe_tool_outputs", "all"}
    for row in result["rows"]:
        if row["blobs"]:
            assert row["raw_bytes"] > 0
            assert math.isfinite(row["ratio"]) and row["ratio"] > 0
    assert {
        p.name for p in Path(tempfile.gettempdir()).glob("memlane-bench-offload-*")
    } == before  # temp stores removed
