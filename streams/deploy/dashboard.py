"""The memlane Grafana dashboard (`infra/grafana/memlane.json`), built with grafana-foundation-sdk.

Rows: flow (throughput per stage, consumer lag in messages and seconds, stalled partitions, freshness from
turn to searchable memory), cost control (skip reasons, tokens forwarded vs turn tokens, fallback rate, paid
tokens, cost, the Claude budget), failures (DLQ by class, fallback outcomes, quarantine, batch retries, LLM
latency, the labeller) and the search API. Every expression is PromQL over metrics the components export (checked by
tests/unit/deploy); the datasource is a variable, so the file imports into any Grafana with Prometheus.
"""

from __future__ import annotations

import json
from collections.abc import Iterator

from streams.deploy.alerts import Thresholds
from streams.settings import Settings

try:
    from grafana_foundation_sdk.builders import common as common_builders
    from grafana_foundation_sdk.builders import dashboard as dash
    from grafana_foundation_sdk.builders import stat, timeseries
    from grafana_foundation_sdk.builders.prometheus import Dataquery
    from grafana_foundation_sdk.cog.encoder import JSONEncoder
    from grafana_foundation_sdk.models.common import (
        BigValueColorMode,
        BigValueGraphMode,
        LegendDisplayMode,
        LegendPlacement,
        StackingMode,
    )
    from grafana_foundation_sdk.models.dashboard import DashboardCursorSync, DataSourceRef, Threshold, ThresholdsMode
except ImportError as exc:  # pragma: no cover - the ops extra is part of `all`
    raise ImportError("the dashboard generator needs the ops extra: pip install 'memlane[ops]'") from exc

UID = "memlane-pipeline"
RATE = "$__rate_interval"
DATASOURCE = DataSourceRef(type_val="prometheus", uid="${datasource}")


def _query(expr: str, legend: str, ref: str) -> Dataquery:
    return Dataquery().expr(expr).legend_format(legend).ref_id(ref).datasource(DATASOURCE)


def _series(
    title: str, unit: str, queries: list[tuple[str, str]], *, description: str, stacked: bool = False, span: int = 12
) -> timeseries.Panel:
    panel = (
        timeseries.Panel()
        .title(title)
        .description(description)
        .unit(unit)
        .datasource(DATASOURCE)
        .span(span)
        .height(8)
        .min(0)
        .fill_opacity(10)
        .legend(
            common_builders.VizLegendOptions()
            .show_legend(True)
            .display_mode(LegendDisplayMode.TABLE)
            .placement(LegendPlacement.BOTTOM)
        )
    )
    if stacked:
        panel = panel.stacking(common_builders.StackingConfig().mode(StackingMode.NORMAL)).fill_opacity(40)
    for n, (expr, legend) in enumerate(queries):
        panel = panel.with_target(_query(expr, legend, chr(ord("A") + n)))
    return panel


def _stat(title: str, unit: str, expr: str, *, description: str, red_above: float | None = None) -> stat.Panel:
    panel = (
        stat.Panel()
        .title(title)
        .description(description)
        .unit(unit)
        .datasource(DATASOURCE)
        .span(4)
        .height(8)
        .graph_mode(BigValueGraphMode.AREA)
        .color_mode(BigValueColorMode.VALUE)
        .reduce_options(common_builders.ReduceDataOptions().calcs(["lastNotNull"]).values(False))
        .with_target(_query(expr, "", "A"))
    )
    if red_above is not None:
        steps = [Threshold(None, "green"), Threshold(red_above, "red")]
        panel = panel.thresholds(dash.ThresholdsConfig().mode(ThresholdsMode.ABSOLUTE).steps(steps))
    return panel


def _flow(settings: Settings, limits: Thresholds) -> Iterator[object]:
    yield dash.Row("Flow: throughput, lag, freshness")
    yield _series(
        "Throughput per stage",
        "ops",
        [
            (f"sum(rate(memlane_turns_in_total[{RATE}]))", "processors: turns in"),
            (f"sum(rate(memlane_requests_out_total[{RATE}]))", "processors: requests out"),
            (f"sum by (component) (rate(memlane_messages_consumed_total[{RATE}]))", "{{component}}: consumed"),
            (f"sum by (extractor) (rate(memlane_extractions_total[{RATE}]))", "extracted by {{extractor}}"),
            (f"sum by (action) (rate(memlane_memories_written_total[{RATE}]))", "memories {{action}}"),
        ],
        description="Messages per second through each stage: turns into the processors, requests out, what each"
        " worker consumed, requests extracted, memories written.",
    )
    yield _series(
        "Consumer lag (messages)",
        "short",
        [("sum by (group, topic) (memlane_consumergroup_lag)", "{{group}} on {{topic}}")],
        description="Messages each consumer group has not consumed yet, per topic (the lag exporter in memlane"
        " serve). The fallback group's lag on the DLQ is the parked backlog.",
        span=8,
    )
    yield _stat(
        "Stalled partitions",
        "short",
        "sum(memlane_partition_stalled) or vector(0)",
        description="Partitions where a group has lag and its committed offset has not moved for the stall time.",
        red_above=1,
    )
    yield _series(
        "Consumer lag (seconds behind)",
        "s",
        [("max by (group) (memlane_consumergroup_lag_seconds)", "{{group}}")],
        description=f"Age of the oldest unconsumed message per group; the alert fires above {limits.lag_seconds:g} s.",
    )
    yield _series(
        "Freshness: turn published to memory searchable",
        "s",
        [
            (
                "histogram_quantile(0.5, sum by (le, priority_class)"
                f" (rate(memlane_turn_to_searchable_seconds_bucket[{RATE}])))",
                "p50 {{priority_class}}",
            ),
            (
                "histogram_quantile(0.95, sum by (le, priority_class)"
                f" (rate(memlane_turn_to_searchable_seconds_bucket[{RATE}])))",
                "p95 {{priority_class}}",
            ),
        ],
        description="From a turn's publication to its memory being upserted into the memory store (memory sink).",
    )


def _cost(settings: Settings) -> Iterator[object]:
    yield dash.Row("Cost control: what reaches an LLM, and what it costs")
    yield _series(
        "Skip reasons",
        "ops",
        [(f"sum by (stage, reason) (rate(memlane_turns_skipped_total[{RATE}]))", "{{stage}}: {{reason}}")],
        description="Turns the processors did not forward to extraction, by stage and reason.",
        stacked=True,
    )
    yield _series(
        "Tokens forwarded vs turn tokens",
        "short",
        [
            (f"sum(rate(memlane_tokens_seen_total[{RATE}]))", "turn tokens read"),
            (f"sum(rate(memlane_tokens_forwarded_total[{RATE}]))", "tokens forwarded to extraction"),
        ],
        description="Tokens per second the processors read and the share they forwarded to the LLM.",
        span=8,
    )
    yield _stat(
        "Forwarded share (range)",
        "percentunit",
        "sum(increase(memlane_tokens_forwarded_total[$__range])) / sum(increase(memlane_tokens_seen_total[$__range]))",
        description="Tokens forwarded / turn tokens over the dashboard's time range.",
    )
    yield _series(
        "Fallback rate",
        "percentunit",
        [
            (
                f'sum(rate(memlane_extractions_total{{outcome="dead_lettered"}}[{RATE}]))'
                f' / sum(rate(memlane_extractions_total{{extractor!="claude"}}[{RATE}]))',
                "dead-lettered share of requests",
            ),
            (f"sum by (outcome) (rate(memlane_fallback_total[{RATE}]))", "fallback {{outcome}} (req/s)"),
        ],
        description="Share of extraction requests that went to the DLQ (and so to the Claude fallback), and what"
        " the fallback did with them.",
    )
    yield _series(
        "Cost per hour",
        "currencyUSD",
        [(f"sum by (provider) (rate(memlane_llm_cost_usd_total[{RATE}])) * 3600", "{{provider}}")],
        description="Estimated spend rate in US dollars per hour, per provider.",
        span=8,
    )
    yield _stat(
        "Claude budget left today",
        "percentunit",
        "min(memlane_claude_budget_remaining_tokens) / max(memlane_claude_budget_limit_tokens)",
        description="Share of the fallback's daily Claude token budget still available.",
    )

    yield _series(
        "Paid tokens",
        "short",
        [
            (
                f'sum by (direction) (rate(memlane_llm_tokens_total{{provider="anthropic"}}[{RATE}]))',
                "Claude {{direction}}",
            ),
            (
                f'sum by (direction) (rate(memlane_llm_tokens_total{{provider!="anthropic"}}[{RATE}]))',
                "local {{direction}}",
            ),
            (f"sum(rate(memlane_tokens_saved_total[{RATE}]))", "saved (handled locally)"),
        ],
        description="LLM tokens per second: paid (Claude) and local (Ollama), and the tokens a cloud-only"
        " pipeline would have paid for.",
        span=20,
    )
    yield _stat(
        "Paid cost (range)",
        "currencyUSD",
        "sum(increase(memlane_llm_cost_usd_total[$__range]))",
        description="Estimated LLM spend over the dashboard's time range (the price table of the settings).",
    )


def _failures(settings: Settings) -> Iterator[object]:
    yield dash.Row("Failures: DLQ, breaker, quarantine, retries")
    yield _series(
        "Parked in the DLQ by error class",
        "ops",
        [(f"sum by (error_class) (rate(memlane_dlq_parked_total[{RATE}]))", "{{error_class}}")],
        description="Requests parked per second; `circuit_open` means the breaker around the model server is open.",
        stacked=True,
    )
    yield _series(
        "Quarantined and retried",
        "ops",
        [
            (f"sum by (stage, error_class) (rate(memlane_quarantined_total[{RATE}]))", "quarantined {{stage}}"),
            (f"sum by (component) (rate(memlane_batch_failures_total[{RATE}]))", "batch retried {{component}}"),
        ],
        description="Undecodable or invalid messages parked in quarantine, and batches rewound after an error.",
    )
    yield _series(
        "LLM call latency p95",
        "s",
        [
            (
                f"histogram_quantile(0.95, sum by (le, provider) (rate(memlane_llm_latency_seconds_bucket[{RATE}])))",
                "{{provider}}",
            ),
            (
                "histogram_quantile(0.95, sum by (le, component)"
                f" (rate(memlane_batch_duration_seconds_bucket[{RATE}])))",
                "batch {{component}}",
            ),
        ],
        description="95th percentile of one LLM call, and of one worker batch (process, flush, commit).",
    )
    yield _series(
        "Components up",
        "short",
        [('up{job=~"memlane-.*"}', "{{job}} {{instance}}")],
        description="1 while Prometheus can scrape the component.",
    )
    yield _series(
        "Labeller: calls and memories",
        "ops",
        [
            (
                f"sum by (outcome, error_class) (rate(memlane_label_calls_total[{RATE}]))",
                "calls {{outcome}} {{error_class}}",
            ),
            (f"sum by (result) (rate(memlane_label_memories_total[{RATE}]))", "memories {{result}}"),
            (f"sum by (result) (rate(memlane_labels_applied_total[{RATE}]))", "applied by the sink: {{result}}"),
        ],
        description="Local-model labelling calls by outcome and error class, memories labelled or left with their"
        " heuristic tags, and label batches the memory sink applied or skipped.",
    )
    yield _series(
        "Labeller: call latency p95",
        "s",
        [
            (
                "histogram_quantile(0.95, sum by (le, model)"
                f" (rate(memlane_label_call_duration_seconds_bucket[{RATE}])))",
                "{{model}}",
            ),
            (f"sum by (direction) (rate(memlane_label_tokens_total[{RATE}]))", "tokens {{direction}} (/s)"),
        ],
        description="95th percentile of one labelling call, and the labeller's local tokens per second.",
    )


def _search() -> Iterator[object]:
    yield dash.Row("Search API")
    yield _series(
        "Search requests",
        "reqps",
        [(f"sum by (route, status) (rate(memlane_search_http_requests_total[{RATE}]))", "{{route}} {{status}}")],
        description="Requests per second answered by memlane serve, by route and status.",
    )
    yield _series(
        "Search latency p95",
        "s",
        [
            (
                "histogram_quantile(0.95, sum by (le, route)"
                f" (rate(memlane_search_http_request_duration_seconds_bucket[{RATE}])))",
                "{{route}}",
            )
        ],
        description="95th percentile time to answer, by route.",
    )


def build(settings: Settings, thresholds: Thresholds | None = None) -> dash.Dashboard:
    """The dashboard builder, every row and panel added."""
    limits = thresholds or Thresholds()
    board = (
        dash.Dashboard("memlane pipeline")
        .uid(UID)
        .description("Turns to memories over Kafka: throughput, lag, freshness, cost control and failures.")
        .tags(["memlane", "kafka", "generated"])
        .refresh("30s")
        .time("now-6h", "now")
        .timezone("browser")
        .tooltip(DashboardCursorSync.CROSSHAIR)
        .with_variable(dash.DatasourceVariable("datasource").label("Prometheus").type("prometheus"))
    )
    for part in (*_flow(settings, limits), *_cost(settings), *_failures(settings), *_search()):
        board = board.with_row(part) if isinstance(part, dash.Row) else board.with_panel(part)  # type: ignore[arg-type]
    return board


def render(settings: Settings, thresholds: Thresholds | None = None) -> str:
    """The dashboard JSON as Grafana imports it."""
    encoded = JSONEncoder(sort_keys=True, indent=2).encode(build(settings, thresholds).build())
    return json.dumps(json.loads(encoded), indent=2, sort_keys=True) + "\n"


def expressions(document: dict[str, object]) -> list[tuple[str, str]]:
    """(panel title, PromQL) of every query in a dashboard JSON document."""
    found: list[tuple[str, str]] = []
    panels = document.get("panels", [])
    assert isinstance(panels, list)
    for panel in panels:
        for nested in [panel, *panel.get("panels", [])]:
            for target in nested.get("targets", []):
                if "expr" in target:
                    found.append((str(nested.get("title", "")), str(target["expr"])))
    return found


__all__ = ["UID", "build", "expressions", "render"]
