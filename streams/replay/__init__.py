"""Replays for analysts: a time range of production re-run into shadow namespaces, and the A/B report.

See `runner` (the steps), `namespace` (what a replay owns), `ranges` (offsets by time, the resumable
copy), `manifest`, `housekeeping` (list, rm), `ab_report` and `ab_render` (the comparison and its files).
"""

from streams.replay.ab_render import write_ab_report
from streams.replay.ab_report import DEFAULT_THRESHOLD, ab_report
from streams.replay.housekeeping import ReplayListing, list_replays, remove_replay
from streams.replay.manifest import ReplayManifest
from streams.replay.namespace import ArmSpec, ReplayNamespace
from streams.replay.ranges import Selection
from streams.replay.runner import ReplayRequest, ReplayResult, run_replay

__all__ = [
    "DEFAULT_THRESHOLD",
    "ArmSpec",
    "ReplayListing",
    "ReplayManifest",
    "ReplayNamespace",
    "ReplayRequest",
    "ReplayResult",
    "Selection",
    "ab_report",
    "list_replays",
    "remove_replay",
    "run_replay",
    "write_ab_report",
]
