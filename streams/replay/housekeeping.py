"""`memlane replay list|rm`: the replays that exist, and removing one without touching anything else.

A replay is found by its workspace (`<state dir>/replays/<name>`) and by its topics on the broker (the
`memlane-replay.<name>.` prefix), so one whose workspace was lost still shows up and can be removed.
Removal deletes exactly what carries the replay's prefix (topics, consumer groups), its collections on
a Qdrant server, and its workspace.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass, field

import structlog
from confluent_kafka import KafkaError, KafkaException
from confluent_kafka.admin import AdminClient

from schemas.errors import MemlaneError
from streams.replay.manifest import ReplayManifest, manifests
from streams.replay.namespace import PREFIX, ReplayNamespace, check_name
from streams.settings import Settings

log = structlog.get_logger(__name__)
_TIMEOUT_S = 30


@dataclass
class ReplayListing:
    name: str
    manifest: ReplayManifest | None
    topics: list[str] = field(default_factory=list)


def _replay_topics(admin: AdminClient) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for topic in admin.list_topics(timeout=_TIMEOUT_S).topics:
        if topic.startswith(PREFIX):
            name = topic[len(PREFIX) :].split(".", 1)[0]
            found.setdefault(name, []).append(topic)
    return found


def list_replays(production: Settings) -> list[ReplayListing]:
    """Every replay with a workspace or topics, by name."""
    admin = AdminClient(production.kafka_config())
    topics = _replay_topics(admin)
    listings = {
        workspace.name: ReplayListing(workspace.name, manifest, sorted(topics.get(workspace.name, [])))
        for workspace, manifest in manifests(production.state_dir / "replays")
    }
    for name, names in topics.items():
        listings.setdefault(name, ReplayListing(name, None, sorted(names)))
    return [listings[name] for name in sorted(listings)]


def remove_replay(production: Settings, name: str) -> list[str]:
    """Delete replay `name`'s topics, groups, server collections and workspace; what was removed."""
    ns = ReplayNamespace(production, check_name(name))
    admin = AdminClient(production.kafka_config())
    removed: list[str] = []
    manifest = ReplayManifest.load(ns.manifest_path) if ns.manifest_path.is_file() else None
    topics = _replay_topics(admin).get(name, [])
    if not topics and manifest is None and not ns.workspace.exists():
        raise MemlaneError(f"no replay named {name}")
    if topics:
        for topic, future in admin.delete_topics(topics, operation_timeout=_TIMEOUT_S).items():
            try:
                future.result(_TIMEOUT_S)
                removed.append(f"topic {topic}")
            except KafkaException as exc:
                log.warning("replay.rm_failed", topic=topic, error=str(exc.args[0]))
    groups = [
        group.group_id
        for group in admin.list_consumer_groups(request_timeout=_TIMEOUT_S).result(_TIMEOUT_S).valid
        if group.group_id.startswith(ns.prefix)
    ]
    if groups:
        for group, future in admin.delete_consumer_groups(groups, request_timeout=_TIMEOUT_S).items():
            try:
                future.result(_TIMEOUT_S)
                removed.append(f"group {group}")
            except KafkaException as exc:
                if exc.args[0].code() != KafkaError.GROUP_ID_NOT_FOUND:
                    log.warning("replay.rm_failed", group=group, error=str(exc.args[0]))
    if production.qdrant_url and manifest is not None:
        removed += _drop_collections(production, manifest.collections)
    if ns.workspace.exists():
        shutil.rmtree(ns.workspace)
        removed.append(f"workspace {ns.workspace}")
    return removed


def _drop_collections(production: Settings, collections: list[str]) -> list[str]:
    from qdrant_client import QdrantClient

    api_key = production.qdrant_api_key.get_secret_value() if production.qdrant_api_key else None
    client = QdrantClient(url=production.qdrant_url, api_key=api_key)
    try:
        return [f"collection {name}" for name in collections if client.delete_collection(name)]
    finally:
        client.close()


__all__ = ["ReplayListing", "list_replays", "remove_replay"]
