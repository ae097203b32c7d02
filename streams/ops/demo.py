"""`memlane demo`: one real conversation through the running pipeline, end to end, then a few searches.

On a pipeline brought up by `memlane up`: publish a LoCoMo conversation from the data directory (the
built-in demo conversation when there is none), wait until every group has consumed everything and the
verifier accounts for every turn with nothing pending, print the reconciled counts, and ask the search
service a few questions about the conversation's speakers.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from schemas.errors import MemlaneError
from streams.demo import DEMO_CONVERSATION, DEMO_CONVERSATION_ID
from streams.ingest.publisher import PublishSummary
from streams.ingest.turn_files import InputFormat, load_turns
from streams.kafka.consumer_lag import LagMonitor
from streams.settings import Settings
from streams.verifier import VerifyReport
from streams.wiring.accounting import verify_deployment
from streams.wiring.groups import pipeline_groups
from streams.wiring.stores import blob_store, publisher, reading_store

LOCOMO = "locomo/locomo_dev5.json"


@dataclass
class DemoResult:
    conversation: str
    source: Path
    published: PublishSummary
    waited_s: float
    report: VerifyReport
    searches: list[tuple[str, list[str]]] = field(default_factory=list)


def demo_source(settings: Settings, data: Path | None, conversation: str | None) -> tuple[Path, str]:
    """The file and conversation the demo publishes."""
    if data is not None:
        return data, conversation or "conv-26"
    locomo = settings.data_dir / LOCOMO
    if locomo.is_file():
        return locomo, conversation or "conv-26"
    return DEMO_CONVERSATION, conversation or DEMO_CONVERSATION_ID


def _settled(settings: Settings, monitor: LagMonitor) -> VerifyReport | None:
    """The verifier's report once nothing is behind and nothing is pending, else None."""
    if any(row.lag for row in monitor.measure(pipeline_groups(settings))):
        return None
    with blob_store(settings) as blobs, reading_store(settings) as store:
        report = verify_deployment(settings, store=store, blobs=blobs)
    pending = report.turns_pending + report.requests_pending + report.memories_pending
    settled = report.ok and pending == 0 and report.turns_in_open_windows == 0
    return report if settled and report.turns_in_requests + report.turns_skipped > 0 else None


def run_demo(
    settings: Settings,
    *,
    data: Path | None = None,
    conversation: str | None = None,
    timeout_s: float | None = None,
    progress: Callable[[str], None] = lambda _line: None,
) -> DemoResult:
    """Publish one conversation into the running pipeline and wait for it to be searchable."""
    source, name = demo_source(settings, data, conversation)
    turns, _errors = load_turns(source, InputFormat.LOCOMO, tenant_id=settings.tenant_id, conversations=[name])
    if not turns:
        raise MemlaneError(f"no turns for conversation {name} in {source}")
    with blob_store(settings) as blobs, publisher(settings, blobs) as out:
        for turn in turns:
            out.publish(turn)
        published = out.flush()
    progress(f"published {published.delivered} of {len(turns)} turns of {name} ({source.name})")
    limit = timeout_s or settings.processors.idle_timeout_s + 300
    began = time.monotonic()
    monitor = LagMonitor(settings.kafka)
    report = None
    while report is None:
        if time.monotonic() - began > limit:
            raise MemlaneError(f"the pipeline did not settle within {limit:.0f} s (see `memlane status`)")
        time.sleep(5.0)
        report = _settled(settings, monitor)
        if report is None:
            progress(f"waiting for the pipeline ({time.monotonic() - began:.0f} s)")
    result = DemoResult(name, source, published, time.monotonic() - began, report)
    result.searches = _ask(settings, turns[0].speaker or turns[0].user_id, name)
    return result


def _ask(settings: Settings, speaker: str, conversation: str) -> list[tuple[str, list[str]]]:
    key = next((k for k, tenant in settings.api_keys.items() if tenant == settings.tenant_id), None)
    if key is None:
        return []
    asked = [f"What does {speaker} do?", f"Where has {speaker} been?", f"What are {speaker}'s plans?"]
    answers = []
    url = f"http://127.0.0.1:{settings.ops.serve_port}"
    with httpx.Client(base_url=url, headers={"Authorization": f"Bearer {key}"}, timeout=30) as client:
        for question in asked:
            body = {"query": question, "conversation_id": conversation, "limit": 3}
            response = client.post("/v1/search", json=body)
            hits = response.json().get("hits", []) if response.status_code == 200 else []
            answers.append((question, [hit["memory"]["text"] for hit in hits]))
    return answers


__all__ = ["DemoResult", "demo_source", "run_demo"]
