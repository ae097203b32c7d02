"""Writing an A/B report: `report.md`, `ab.json` and PNG charts (matplotlib) in one folder.

Charts: coverage of each arm by the other across thresholds (`coverage.png`), memories by kind per arm
(`kinds.png`), LLM latency and tokens per arm (`calls.png`), and, when quality was measured, evidence and
answer recall@10 per arm and category (`quality.png`).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from streams.replay.ab_report import THRESHOLDS

_COLOURS = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd")


def _pyplot() -> Any:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _coverage_chart(report: dict[str, Any], path: Path) -> Path | None:
    if not report["pairs"]:
        return None
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(7, 4.2))
    xs = list(THRESHOLDS)
    for n, pair in enumerate(report["pairs"]):
        ax.plot(
            xs,
            list(pair["coverage_of_a_by_b"].values()),
            marker="o",
            color=_COLOURS[(2 * n) % 5],
            label=f"{pair['a']} covered by {pair['b']}",
        )
        ax.plot(
            xs,
            list(pair["coverage_of_b_by_a"].values()),
            marker="s",
            color=_COLOURS[(2 * n + 1) % 5],
            label=f"{pair['b']} covered by {pair['a']}",
        )
    ax.axvline(report["threshold"], color="grey", linestyle="--", linewidth=1, label=f"threshold {report['threshold']}")
    ax.set_xlabel("cosine similarity threshold (same request)")
    ax.set_ylabel("share of memories covered")
    ax.set_ylim(0, 1.02)
    ax.set_title(f"replay {report['replay']}: coverage of each arm by the other")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def _kinds_chart(report: dict[str, Any], path: Path) -> Path:
    plt = _pyplot()
    arms = report["arms"]
    kinds = sorted({kind for arm in arms for kind in arm["kinds"]}) or ["fact"]
    fig, ax = plt.subplots(figsize=(7, 4.2))
    width = 0.8 / max(1, len(arms))
    for n, arm in enumerate(arms):
        xs = [i + n * width for i in range(len(kinds))]
        ax.bar(
            xs,
            [arm["kinds"].get(kind, 0) for kind in kinds],
            width=width,
            color=_COLOURS[n % 5],
            label=f"{arm['arm']} ({arm['memories_per_request']:.2f} per request)",
        )
    ax.set_xticks([i + width * (len(arms) - 1) / 2 for i in range(len(kinds))], kinds)
    ax.set_ylabel("memories")
    ax.set_title("memories by kind")
    ax.legend(fontsize=8)
    ax.grid(axis="y", alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def _calls_chart(report: dict[str, Any], path: Path) -> Path:
    plt = _pyplot()
    arms = report["arms"]
    labels = [arm["arm"] for arm in arms]
    fig, (left, right) = plt.subplots(1, 2, figsize=(9, 4.2))
    xs = range(len(arms))
    left.bar(
        [x - 0.2 for x in xs], [arm["latency_p50_ms"] or 0 for arm in arms], width=0.4, label="p50", color=_COLOURS[0]
    )
    left.bar(
        [x + 0.2 for x in xs], [arm["latency_p95_ms"] or 0 for arm in arms], width=0.4, label="p95", color=_COLOURS[1]
    )
    left.set_xticks(list(xs), labels, fontsize=8)
    left.set_ylabel("ms per successful LLM call (0: no LLM)")
    left.set_title("LLM call latency")
    left.legend(fontsize=8)
    parts = (
        ("local_tokens_in", "local in"),
        ("local_tokens_out", "local out"),
        ("paid_tokens_in", "paid in"),
        ("paid_tokens_out", "paid out"),
    )
    bottoms = [0.0] * len(arms)
    for n, (key, label) in enumerate(parts):
        values = [float(arm[key]) for arm in arms]
        right.bar(list(xs), values, bottom=bottoms, label=label, color=_COLOURS[n % 5])
        bottoms = [b + v for b, v in zip(bottoms, values, strict=True)]
    right.set_xticks(list(xs), labels, fontsize=8)
    right.set_ylabel("tokens")
    right.set_title("tokens (local and paid)")
    right.legend(fontsize=8)
    for ax in (left, right):
        ax.grid(axis="y", alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def _quality_chart(report: dict[str, Any], path: Path) -> Path | None:
    arms = [arm for arm in report["arms"] if arm.get("quality")]
    if not arms:
        return None
    plt = _pyplot()
    categories = [row["category"] for row in arms[0]["quality"]]
    fig, axes = plt.subplots(1, 2, figsize=(10, 4.2))
    width = 0.8 / len(arms)
    for ax, key, title in ((axes[0], "evidence@10", "evidence recall@10"), (axes[1], "answer@10", "answer recall@10")):
        for n, arm in enumerate(arms):
            by_category = {row["category"]: row[key] for row in arm["quality"]}
            ax.bar(
                [i + n * width for i in range(len(categories))],
                [by_category.get(c, 0) for c in categories],
                width=width,
                color=_COLOURS[n % 5],
                label=arm["arm"],
            )
        ax.set_xticks([i + width * (len(arms) - 1) / 2 for i in range(len(categories))], categories, fontsize=8)
        ax.set_ylim(0, 1)
        ax.set_title(title)
        ax.grid(axis="y", alpha=0.3)
        ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def _fmt(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:,.3f}" if abs(value) < 100 else f"{value:,.0f}"
    return f"{value:,}" if isinstance(value, int) else str(value)


def _table(header: list[str], rows: list[list[Any]]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(_fmt(cell) for cell in row) + " |" for row in rows]
    return lines


def markdown(report: dict[str, Any], charts: list[Path]) -> str:
    arms = report["arms"]
    where = f"conversations {', '.join(report['conversations'])}" if report["conversations"] else "all conversations"
    if report["tenant"]:
        where += f" of tenant {report['tenant']}"
    lines = [
        f"# A/B report: replay `{report['replay']}`",
        "",
        f"Stage `{report['stage']}` over `{report['source_topic']}` from {report['from']} to {report['to']}, "
        f"{where}. Every arm saw the same "
        f"{arms[0]['requests'] if arms else 0} extraction requests.",
        "",
        "## Arms",
        "",
    ]
    keys = [
        ("memories", "memories"),
        ("memories_per_request", "per request"),
        ("llm_calls", "LLM calls"),
        ("local_tokens_in", "local tokens in"),
        ("local_tokens_out", "local tokens out"),
        ("paid_tokens_in", "paid tokens in"),
        ("paid_tokens_out", "paid tokens out"),
        ("latency_p50_ms", "latency p50 ms"),
        ("latency_p95_ms", "latency p95 ms"),
        ("paid_usd", "paid $"),
        ("local_cloud_equivalent_usd", "local tokens at cloud price $"),
        ("dlq_rate_per_1000", "DLQ per 1,000"),
        ("fallback_rate", "fallback rate"),
        ("accounting", "accounting"),
    ]
    lines += _table(["", *(arm["arm"] for arm in arms)], [[label, *(arm[key] for arm in arms)] for key, label in keys])
    kinds = sorted({kind for arm in arms for kind in arm["kinds"]})
    lines += ["", "Memories by kind:", ""]
    lines += _table(
        ["kind", *(arm["arm"] for arm in arms)], [[k, *(arm["kinds"].get(k, 0) for arm in arms)] for k in kinds]
    )
    for pair in report["pairs"]:
        lines += [
            "",
            f"## Coverage: {pair['a']} vs {pair['b']}",
            "",
            f"At threshold {report['threshold']}: {pair['coverage_of_a_by_b_at_threshold']:.1%} of {pair['a']}'s "
            f"memories have a match among {pair['b']}'s (same request); {pair['coverage_of_b_by_a_at_threshold']:.1%} "
            f"of {pair['b']}'s have one among {pair['a']}'s.",
            "",
        ]
        lines += _table(
            ["threshold", f"{pair['a']} covered by {pair['b']}", f"{pair['b']} covered by {pair['a']}"],
            [[t, pair["coverage_of_a_by_b"][t], pair["coverage_of_b_by_a"][t]] for t in pair["coverage_of_a_by_b"]],
        )
        for side, who, other in (("a_missed_by_b", pair["a"], pair["b"]), ("b_missed_by_a", pair["b"], pair["a"])):
            lines += ["", f"Found by {who}, missed by {other}:", ""]
            lines += _table(
                ["kind", "memory", f"closest of {other}", "similarity"],
                [[e["kind"], e["text"][:160], (e["closest_other"] or "-")[:160], e["similarity"]] for e in pair[side]],
            )
    lines += ["", "## Failures", ""]
    for arm in arms:
        rows = [
            [f["model"], f["error_class"], f["attempt"], f["parked"], f["drained"], f["per_1000_requests"]]
            for f in arm["failures"]
        ]
        lines += [f"{arm['arm']}: {sum(r[3] + r[4] for r in rows)} DLQ message(s)", ""]
        if rows:
            lines += [*_table(["model", "error class", "attempt", "parked", "drained", "per 1,000 requests"], rows), ""]
    quality = [arm for arm in arms if arm.get("quality")]
    if quality:
        lines += ["## Memory quality (LoCoMo questions of the replayed conversations)", ""]
        rows = [
            [arm["arm"], row["category"], row["questions"], row["evidence@10"], row["answer@10"]]
            for arm in quality
            for row in arm["quality"]
        ]
        lines += _table(["arm", "category", "questions", "evidence recall@10", "answer recall@10"], rows)
    lines += ["", "## Charts", ""] + [f"![{chart.stem}]({chart.name})" for chart in charts]
    lines += [
        "",
        "Coverage: a memory counts as covered when the other arm made a memory of the same request whose "
        "embedding has cosine similarity at or above the threshold. Latency is per successful LLM call.",
        "",
    ]
    return "\n".join(lines)


def write_ab_report(report: dict[str, Any], folder: Path) -> list[Path]:
    """Write `ab.json`, the charts and `report.md` into `folder`; returns the files written."""
    folder.mkdir(parents=True, exist_ok=True)
    charts = [
        chart
        for chart in (
            _coverage_chart(report, folder / "coverage.png"),
            _kinds_chart(report, folder / "kinds.png"),
            _calls_chart(report, folder / "calls.png"),
            _quality_chart(report, folder / "quality.png"),
        )
        if chart is not None
    ]
    (folder / "ab.json").write_text(json.dumps({**report, "charts": [c.name for c in charts]}, indent=2, default=str))
    (folder / "report.md").write_text(markdown(report, charts))
    return [folder / "ab.json", folder / "report.md", *charts]


__all__ = ["markdown", "write_ab_report"]
