"""Turn sources for `memlane publish`: JSONL turn files and the LoCoMo conversation format."""

from streams.ingest.jsonl import ParsedLine, parse_turn_line, read_turns_jsonl
from streams.ingest.locomo import LocomoTurn, locomo_turns, parse_session_datetime

__all__ = [
    "LocomoTurn",
    "ParsedLine",
    "locomo_turns",
    "parse_session_datetime",
    "parse_turn_line",
    "read_turns_jsonl",
]
