"""`memlane bench digest`: tool-result digests on real tool outputs: tokens before and after, and how many of the
facts a later turn relies on survive in the digest.

Inputs (`MEMLANE_DATA_DIR`): every SWE-agent step whose observation exceeds `MEMLANE_OFFLOAD__DIGEST_THRESHOLD_CHARS`
(2000) in `swe_agent_trajs/**/*.traj`, and every loghub log in `loghub_2k/` (one 2,000-line output each). Each is
digested (`processors.offload.digest`) as the claim check would digest it. Tokens: `estimate_tokens` of the
output and of the digest (the seed's target: 80% fewer tool-result tokens).

"Facts survive", defined:
- SWE-agent: a fact is a file path, a number of two or more digits, or an identifier with `_` or an inner capital
  (6+ characters) that occurs in the observation AND in the next step's thought or action, the turn that acted
  on the output. It survives `in text` when the digest's text contains it, and is `reachable` when it survives
  or a slice the digest names covers a line where it occurs (a reader fetching the named slices gets it);
  `slice_share` says how much of the output those slices cover, since a slice of everything reaches everything.
- loghub: a fact is an error-like line template (digits masked) of the log. It survives `in text` when the digest
  quotes a line of that template, `reachable` when a named slice covers one.
Digests are extractive unless `--ollama-url URL --model NAME` names a real local model; with the model,
outputs whose digest fell back to extractive are counted as such. `--quick`: 8 SWE outputs and 3 logs.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import re
import statistics
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from processors.offload.digest import ERROR_LINE, Digest, ExtractiveDigester
from processors.offload.model_digest import OllamaDigester
from processors.tokens import estimate_tokens
from streams.bench.contract import BenchOptions, BenchReport

GOAL_TOKENS_SAVED = 0.80
_FACT = re.compile(
    r"(?:[\w.-]+/)+[\w.-]+"  # a path with a directory
    r"|\b[\w-]+\.(?:py|txt|cfg|toml|json|yaml|yml|md|rst|js|ts|c|h|go|rs|java|sh|log|html|php)\b"  # a file name
    r"|\b\d{2,}\b"  # a number of 2+ digits
    r"|\b[A-Za-z_]*(?:_[A-Za-z0-9]|[a-z][A-Z])[A-Za-z0-9_]*\b"  # snake_case or camelCase identifiers
)
_DIGITS = re.compile(r"\d+")
_QUOTED = re.compile(r"^L(\d+): ", re.M)


@dataclass(frozen=True)
class Output:
    source: str
    text: str
    facts: dict[str, tuple[int, ...]]
    """Each fact and the line numbers (1-based) where it occurs in the output."""


def _lines_of(text: str, needle: str) -> tuple[int, ...]:
    return tuple(n for n, line in enumerate(text.splitlines(), start=1) if needle in line)


def swe_outputs(root: Path, threshold: int) -> Iterator[Output]:
    """Large observations of SWE-agent trajectories with the facts the next step used."""
    for path in sorted(root.rglob("*.traj")):
        try:
            steps = json.loads(path.read_bytes()).get("trajectory") or []
        except (ValueError, AttributeError):
            continue
        for step, after in itertools.pairwise(steps):
            text = step.get("observation") if isinstance(step, dict) else None
            if not isinstance(text, str) or len(text) <= threshold:
                continue
            later = " ".join(str(after.get(k) or "") for k in ("thought", "action"))
            facts = {f for f in _FACT.findall(text) if len(f) >= 2 and f in later}
            yield Output("swe-agent", text, {f: _lines_of(text, f) for f in sorted(facts)})


def _template(line: str) -> str:
    return _DIGITS.sub("#", " ".join(line.split()))


def log_outputs(root: Path) -> Iterator[Output]:
    """Each loghub log as one output; its facts are the templates of its error-like lines."""
    for path in sorted(root.glob("*.log")):
        text = path.read_text(encoding="utf-8", errors="replace")
        facts: dict[str, list[int]] = {}
        for number, line in enumerate(text.splitlines(), start=1):
            if ERROR_LINE.search(line):
                facts.setdefault(_template(line), []).append(number)
        yield Output("loghub", text, {f: tuple(lines) for f, lines in facts.items()})


def survival(output: Output, digest: Digest) -> tuple[int, int, int]:
    """(facts, in the digest's text, reachable through the text or a named slice)."""
    covered = {n for s in digest.slices for n in range(s.start, s.end + 1)}
    if output.source == "loghub":
        lines = output.text.splitlines()
        quoted = {_template(lines[int(n) - 1]) for n in _QUOTED.findall(digest.text) if 0 < int(n) <= len(lines)}
        in_text = {f for f in output.facts if f in quoted}
    else:
        in_text = {f for f in output.facts if f in digest.text}
    reachable = in_text | {f for f, where in output.facts.items() if covered.intersection(where)}
    return len(output.facts), len(in_text), len(reachable)


def _row(source: str, outputs: list[Output], digests: list[Digest]) -> dict[str, Any]:
    before = sum(estimate_tokens(o.text) for o in outputs)
    after = sum(d.tokens for d in digests)
    facts = [survival(o, d) for o, d in zip(outputs, digests, strict=True)]
    total = sum(f[0] for f in facts)
    return {
        "source": source,
        "outputs": len(outputs),
        "tokens_before": before,
        "tokens_after": after,
        "saved": 1.0 - after / before if before else 0.0,
        "digest_tokens_p50": statistics.median(d.tokens for d in digests) if digests else 0,
        "facts": total,
        "in_text": sum(f[1] for f in facts) / total if total else 0.0,
        "reachable": sum(f[2] for f in facts) / total if total else 0.0,
        "slice_share": statistics.mean(_slice_share(d) for d in digests) if digests else 0.0,
        "model_digests": sum(d.kind == "model" for d in digests),
    }


def _slice_share(digest: Digest) -> float:
    """Share of the output's lines the named slices cover (a slice of everything makes every fact reachable)."""
    covered = {n for s in digest.slices for n in range(s.start, s.end + 1)}
    return len(covered) / digest.total_lines if digest.total_lines else 0.0


def run(options: BenchOptions) -> BenchReport:
    """Digest the SWE-agent and loghub outputs; tokens and fact survival per source."""
    settings = options.settings
    offload = settings.offload
    data = options.data or settings.data_dir
    swe = list(swe_outputs(data / "swe_agent_trajs", offload.digest_threshold_chars))
    logs = list(log_outputs(data / "loghub_2k"))
    if options.quick:
        swe, logs = swe[:8], logs[:3]
    if not swe or not logs:
        raise FileNotFoundError(f"no SWE-agent trajectories or loghub logs under {data} (MEMLANE_DATA_DIR or --data)")
    model = offload.digest_model or settings.extraction.fast_model
    digester: ExtractiveDigester | OllamaDigester = (
        OllamaDigester.connect(options.ollama_url, model, offload)
        if options.ollama_url
        else ExtractiveDigester(offload.digest_target_tokens)
    )
    try:
        digested = {
            name: [digester.digest(o.text, hashlib.sha256(o.text.encode("utf-8")).hexdigest()) for o in outputs]
            for name, outputs in (("swe-agent", swe), ("loghub", logs))
        }
    finally:
        digester.close()
    rows = [_row("swe-agent", swe, digested["swe-agent"]), _row("loghub", logs, digested["loghub"])]
    rows.append(_row("all", swe + logs, digested["swe-agent"] + digested["loghub"]))
    overall = rows[-1]
    fallbacks = [d.reason for ds in digested.values() for d in ds if d.reason]
    summary: dict[str, Any] = {
        "tokens_before": overall["tokens_before"],
        "tokens_after": overall["tokens_after"],
        "tokens_saved_ratio": overall["saved"],
        "goal_tokens_saved": GOAL_TOKENS_SAVED,
        "meets_goal_tokens": overall["saved"] >= GOAL_TOKENS_SAVED,
        "swe_facts_in_text": rows[0]["in_text"],
        "swe_facts_reachable": rows[0]["reachable"],
        "log_error_templates_in_text": rows[1]["in_text"],
        "log_error_templates_reachable": rows[1]["reachable"],
        "digester": f"model {model} at {options.ollama_url}" if options.ollama_url else "extractive (no model)",
        "model_fallbacks": len(fallbacks),
        "target_tokens": offload.digest_target_tokens,
        "threshold_chars": offload.digest_threshold_chars,
        "data": str(data),
    }
    notes = [
        "facts (SWE-agent): paths, 2+ digit numbers, snake/camel identifiers of the output that the NEXT step's "
        "thought or action mentions; loghub: error-like line templates (digits masked)",
        "in_text: the digest's own text holds the fact; reachable: it does, or a slice the digest names covers it; "
        "slice_share: mean share of an output's lines the named slices cover (read reachable against it)",
        "extractive digests keep head, tail and error lines: facts from the middle of an output are mostly lost "
        "from the text; the slices point to where the errors are, not to everything",
    ]
    if fallbacks:
        notes.append(f"{len(fallbacks)} model digest(s) fell back to extractive, e.g. {fallbacks[0][:120]}")
    columns = ["source", "outputs", "tokens_before", "tokens_after", "saved", "digest_tokens_p50", "facts",
               "in_text", "reachable", "slice_share", "model_digests"]  # fmt: skip
    return BenchReport("digest", columns=columns, rows=rows, summary=summary, notes=notes,
                       title="Tool-result digests: tokens and facts that survive")  # fmt: skip


__all__ = ["GOAL_TOKENS_SAVED", "log_outputs", "run", "survival", "swe_outputs"]
