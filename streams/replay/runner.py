"""`memlane replay`: re-run one stage of the pipeline over a time range of production, once per extractor.

    resolve   the range's offsets on the production topic (turns for `--stage processors`, requests for
              `--stage extraction`), once, kept in the manifest
    copy      the selected messages into the replay's input topic (resumable, see `ranges`)
    process   (`--stage processors` only) the processors app over the copied turns, in a child process,
              with its own app id and RocksDB tables: requests and skip records in the replay's topics
    windows   the blob sink over the replay's requests, into the replay's blob store
    arms      per extractor: the extraction worker over the replay's requests (its own group), the
              fallback when an Anthropic key is set, the memory sink into the arm's own collection;
              then the accounting verifier over the arm's topics

Every step is a consumer group with committed offsets, so a replay stopped anywhere resumes where it
was when the same command is run again; ids are derived from content as in any run, so a resumed (or
repeated) replay cannot duplicate a memory. Production's topics, groups, collections and blobs are only
ever read (see `namespace`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import structlog
from confluent_kafka.admin import AdminClient

from processors.extraction import Extractor
from schemas.errors import ConfigError, MemlaneError
from schemas.events import ConversationTurn, ExtractionRequest
from streams.kafka.provision import provision
from streams.replay.manifest import ReplayManifest, Stage, open_manifest
from streams.replay.namespace import ArmSpec, ReplayNamespace, arm_specs, check_name
from streams.replay.ranges import (
    CopyCounts,
    Selection,
    bounds_from_json,
    bounds_to_json,
    copy_range,
    range_size,
    resolve_range,
)
from streams.settings import Settings
from streams.verifier import VerifyReport
from streams.wiring.accounting import verify_deployment
from streams.wiring.processes import run_worker_process
from streams.wiring.stores import blob_store, memory_store
from streams.wiring.workers import (
    fallback_extractor_for,
    run_extract,
    run_fallback,
    run_sink_blobs,
    run_sink_qdrant,
)

log = structlog.get_logger(__name__)

Progress = Callable[[str, int, int], None]
"""`(step, done, total)`: called as a step advances."""


@dataclass(frozen=True)
class ReplayRequest:
    """What `memlane replay` was asked."""

    name: str
    stage: Stage
    start: datetime
    end: datetime
    extractors: tuple[str, ...]
    selection: Selection = field(default_factory=Selection)
    asked: tuple[str, str] | None = None
    """The range as the user gave it (default: the resolved times)."""


@dataclass
class ArmResult:
    arm: ArmSpec
    extracted: int = 0
    dead_lettered: int = 0
    fallback_extracted: int = 0
    stored: int = 0
    accounting: str = ""


@dataclass
class ReplayResult:
    manifest: ReplayManifest
    namespace: ReplayNamespace
    copy: CopyCounts
    arms: list[ArmResult] = field(default_factory=list)


def _manifest(ns: ReplayNamespace, request: ReplayRequest, arms: list[ArmSpec]) -> ReplayManifest:
    production = ns.production.topics
    return ReplayManifest(
        name=request.name,
        stage=request.stage,
        source_topic=production.turns if request.stage == "processors" else production.requests,
        start=request.start,
        end=request.end,
        asked=request.asked or (request.start.isoformat(), request.end.isoformat()),
        tenant_id=request.selection.tenant_id,
        conversations=request.selection.conversations,
        arms=tuple(arm.label for arm in arms),
        collections=[ns.collection(arm) for arm in arms],
    )


def _arm_extractor(settings: Settings, arm: ArmSpec, blobs: Any) -> Extractor | None:
    if arm.kind != "claude":
        return None  # the worker builds what `settings.extractor` names
    if settings.anthropic_api_key is None:
        raise ConfigError(f"the {arm.label} arm needs MEMLANE_ANTHROPIC_API_KEY")
    return fallback_extractor_for(settings, blobs)


def _run_arm(ns: ReplayNamespace, arm: ArmSpec) -> ArmResult:
    settings = ns.arm(arm)
    result = ArmResult(arm)
    with blob_store(settings) as blobs:
        extractor = _arm_extractor(settings, arm, blobs)
        counts = run_extract(settings, idle_exit_s=3.0, extractor=extractor)
        if extractor is not None:
            extractor.close()
    result.extracted, result.dead_lettered = counts.extracted, counts.dead_lettered
    if settings.anthropic_api_key is not None and arm.kind != "claude":
        result.fallback_extracted = run_fallback(settings, idle_exit_s=3.0).extracted
    stored = run_sink_qdrant(settings, idle_exit_s=3.0)
    result.stored = stored.inserted + stored.updated + stored.unchanged
    result.accounting = verify_arm(ns, arm).verdict
    return result


def verify_arm(ns: ReplayNamespace, arm: ArmSpec) -> VerifyReport:
    """The accounting of one arm: the shared turns and requests, the arm's memories and collection."""
    settings = ns.arm(arm)
    with memory_store(settings) as store:
        return verify_deployment(settings, store=store, upstream_quarantine=(ns.shared().topics.quarantine,))


def run_replay(production: Settings, request: ReplayRequest, progress: Progress | None = None) -> ReplayResult:
    """Run (or resume) the replay `request` describes against the deployment `production` describes."""
    report_progress = progress or (lambda _step, _done, _total: None)
    ns = ReplayNamespace(production, check_name(request.name))
    arms = arm_specs(list(request.extractors))
    if any(arm.kind == "claude" for arm in arms) and production.anthropic_api_key is None:
        raise ConfigError("a claude arm needs MEMLANE_ANTHROPIC_API_KEY")
    manifest = open_manifest(ns.manifest_path, _manifest(ns, request, arms))
    shared = ns.shared()
    ctx = production.stream_context()
    if not manifest.bounds:
        manifest.bounds = bounds_to_json(resolve_range(ctx, manifest.source_topic, manifest.start, manifest.end))
        manifest.save(ns.manifest_path)
    bounds = bounds_from_json(manifest.bounds)
    admin = AdminClient(production.kafka_config())
    for settings in (shared, *(ns.arm(arm) for arm in arms)):
        provision(admin, settings.topic_catalogue())

    total = range_size(bounds)
    done = 0

    def copied(n: int) -> None:
        nonlocal done
        done += n
        report_progress("copy", done, total)

    model: type[ConversationTurn | ExtractionRequest] = ConversationTurn
    target = shared.topics.turns
    if request.stage == "extraction":
        target, model = shared.topics.requests, ExtractionRequest
    codec = production.codec()
    copy = copy_range(
        ctx,
        manifest.source_topic,
        target,
        bounds,
        decode=lambda value: codec.decode(value, model, manifest.source_topic),
        selection=request.selection,
        progress=copied,
    )
    log.info("replay.copied", name=request.name, copied=copy.copied, already=copy.already_copied)
    if request.stage == "processors" and not manifest.done("process"):
        report_progress("process", 0, 1)
        code = run_worker_process(shared, "processors", idle_exit_s=6.0, log_path=ns.workspace / "processors.log")
        if code != 0:
            raise MemlaneError(f"the replay's processors exited with {code} (see {ns.workspace / 'processors.log'})")
        manifest.mark("process", ns.manifest_path)
        report_progress("process", 1, 1)
    run_sink_blobs(shared, idle_exit_s=3.0)
    result = ReplayResult(manifest, ns, copy)
    for index, arm in enumerate(arms):
        report_progress(f"arm {arm.label}", index, len(arms))
        result.arms.append(_run_arm(ns, arm))
        manifest.mark(f"arm:{arm.label}", ns.manifest_path)
        report_progress(f"arm {arm.label}", index + 1, len(arms))
    return result


__all__ = ["ArmResult", "ReplayRequest", "ReplayResult", "run_replay", "verify_arm"]
