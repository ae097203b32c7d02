"""Tool-result digests: a large tool output as ~200 tokens that say what it holds and which slices to fetch.

The full output stays in the blob store (the claim check); the digest travels in its place, so a paid model
reads the digest and fetches only the slices it needs (`GET /v1/blobs/{sha}?lines=A:B`, 1-based, inclusive).
Two kinds, always labelled in the text's first line:

    model        the local model's summary and slices (`processors.offload.model_digest`)
    extractive   deterministic, no model: counts, the first lines, error-like lines (error, exception,
                 traceback, fail, fatal, panic, denied, warn, critical; duplicates after masking digits
                 shown once) and the last lines, each with its line number, until the token budget is spent

`extractive_digest` is what stands in whenever the model is unusable; the same output always gives the same
digest. Tokens are `processors.tokens.estimate_tokens`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

from processors.tokens import estimate_tokens

ERROR_LINE = re.compile(
    r"\b(\w*errors?|\w*exceptions?|traceback|fail(?:s|ed|ure|ures)?|fatal|panic|denied|warn(?:ing|ings)?|critical)\b",
    re.IGNORECASE,
)
_DIGITS = re.compile(r"\d+")
PATH = re.compile(
    r"(?:[\w.-]+/)+[\w.-]+\.\w{1,5}\b|\b[\w-]+\.(?:py|js|ts|go|rs|java|c|h|cpp|sh|toml|cfg|json|yaml|yml|txt)\b"
)
PATHS_SHARE = 0.3
"""At most this share of the token budget lists the file paths the output names (with their first line)."""
LINE_CHARS = 120
"""Each quoted line is cut to this many characters."""
HEAD_LINES = 2
TAIL_LINES = 2


@dataclass(frozen=True)
class DigestSlice:
    """Lines `start`..`end` (1-based, inclusive) of the blob, and what they hold."""

    start: int
    end: int
    about: str

    def render(self) -> str:
        return f"{self.start}:{self.end} {self.about}"


@dataclass(frozen=True)
class Digest:
    """A digest of one tool output stored as blob `sha256`."""

    text: str
    kind: Literal["model", "extractive"]
    slices: tuple[DigestSlice, ...]
    total_lines: int
    total_bytes: int
    tokens: int
    reason: str | None = None
    """Why an extractive digest stands in when the model was asked (None otherwise)."""


def header(kind: str, sha256: str, lines: int, size: int) -> str:
    return f"[{kind} digest of blob {sha256}: {lines} lines, {size} bytes; fetch /v1/blobs/{{sha}}?lines=A:B]"


def slice_line(slices: tuple[DigestSlice, ...]) -> str:
    return "slices: " + "; ".join(s.render() for s in slices) if slices else ""


def is_error_line(line: str) -> bool:
    return ERROR_LINE.search(line) is not None


def _quote(number: int, line: str) -> str:
    flat = " ".join(line.split())
    return f"L{number}: {flat[:LINE_CHARS]}{'…' if len(flat) > LINE_CHARS else ''}"


def _paths_line(lines: list[str], errors: set[int], budget: int) -> str:
    """`paths: a.py@L3, b/c.py@L40, ...` of the distinct file paths in `lines` within `budget` tokens: those on
    or just after an error-like line (a traceback's frames) first, then in order of appearance."""
    first: dict[str, int] = {}
    for number, line in enumerate(lines, start=1):
        for found in PATH.findall(line):
            first.setdefault(found, number)

    def near_error(number: int) -> bool:
        return any(number - back in errors for back in range(4))

    text = ""
    for path, number in sorted(first.items(), key=lambda item: (not near_error(item[1]), item[1])):
        candidate = f"{text}, {path}@L{number}" if text else f"paths: {path}@L{number}"
        if estimate_tokens(candidate) > budget:
            break
        text = candidate
    return text


def _merged(slices: list[DigestSlice]) -> tuple[DigestSlice, ...]:
    out: list[DigestSlice] = []
    for item in sorted(slices, key=lambda s: (s.start, s.end)):
        if out and item.start <= out[-1].end + 1:
            last = out[-1]
            about = last.about if item.about in last.about else f"{last.about}, {item.about}"
            out[-1] = DigestSlice(last.start, max(last.end, item.end), about)
        else:
            out.append(item)
    return tuple(out)


def extractive_digest(text: str, sha256: str, *, target_tokens: int = 200, reason: str | None = None) -> Digest:
    """The deterministic digest of `text` (stored as `sha256`) in about `target_tokens` tokens."""
    lines = text.splitlines()
    total, size = len(lines), len(text.encode("utf-8"))
    errors = [(n, line) for n, line in enumerate(lines, start=1) if is_error_line(line)]
    head = [(n, line) for n, line in enumerate(lines[:HEAD_LINES], start=1)]
    tail_start = max(HEAD_LINES, total - TAIL_LINES)
    tail = [(n, line) for n, line in enumerate(lines[tail_start:], start=tail_start + 1)]
    counts = f"{len(errors)} error-like line(s)" + (f", first L{errors[0][0]}, last L{errors[-1][0]}" if errors else "")
    parts = [header("extractive", sha256, total, size), counts]
    slices: list[DigestSlice] = []
    if head:
        slices.append(DigestSlice(1, head[-1][0], "head"))
    if tail:
        slices.append(DigestSlice(tail[0][0], total, "tail"))
    budget = target_tokens - estimate_tokens("\n".join(parts)) - estimate_tokens(slice_line(_merged(slices)))
    paths = _paths_line(lines, {n for n, _line in errors}, int(budget * PATHS_SHARE))
    if paths:
        parts.append(paths)
        budget -= estimate_tokens(paths)
    seen: set[str] = set()
    distinct: list[tuple[str, int, str]] = []
    for n, line in errors:
        masked = _DIGITS.sub("#", " ".join(line.split()))
        if masked not in seen and HEAD_LINES < n <= tail_start:
            seen.add(masked)
            distinct.append(("error", n, line))
    # priority: the first line, the first and last distinct errors, the last line, other errors, the rest
    firsts = [("head", *head[0])] if head else []
    lasts = [("tail", *tail[-1])] if tail else []
    ends = [distinct[0], distinct[-1]] if len(distinct) > 1 else distinct
    candidates = firsts + ends + lasts + distinct[1:-1]
    candidates += [("head", n, line) for n, line in head[1:]] + [("tail", n, line) for n, line in tail[:-1]]
    shown: list[tuple[int, str]] = []
    for about, number, line in dict.fromkeys(candidates):
        quoted = _quote(number, line)
        cost = estimate_tokens(quoted) + (6 if about == "error" else 0)
        if cost > budget:
            continue
        budget -= cost
        shown.append((number, quoted))
        if about == "error":
            slices.append(DigestSlice(max(1, number - 1), min(total, number + 2), f"error at L{number}"))
    merged = _merged(slices)
    body = "\n".join([*parts, *(quoted for _n, quoted in sorted(shown)), slice_line(merged)])
    return Digest(body, "extractive", merged, total, size, estimate_tokens(body), reason)


class ExtractiveDigester:
    """The extractive digest behind the digester interface of the claim check (no model, no I/O)."""

    def __init__(self, target_tokens: int = 200) -> None:
        self.target_tokens = target_tokens

    def digest(self, text: str, sha256: str, *, tenant_id: str = "-") -> Digest:
        return extractive_digest(text, sha256, target_tokens=self.target_tokens)

    def close(self) -> None:
        """Nothing to release."""


__all__ = [
    "ERROR_LINE",
    "Digest",
    "DigestSlice",
    "ExtractiveDigester",
    "extractive_digest",
    "header",
    "is_error_line",
    "slice_line",
]
