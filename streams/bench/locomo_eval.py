"""LoCoMo evaluation of the processors' filter: tokens forwarded to extraction vs evidence turns kept.

Pure (no Kafka): `load_locomo` turns a LoCoMo-format JSON into `ConversationTurn`s (speakers become user
ids, session date strings like "1:56 pm on 8 May, 2023" the event time of a session's first turn, the next
turns `turn_interval_s` apart, image captions attachments), `run_processor` feeds them in order to a
`TurnProcessor` (ticking it at every session start), and `compute_metrics(conversations, requests)` scores
any list of requests, so the Kafka bench runner can reuse it on what it consumed. Baselines on the same
turns: every turn its own request (Mem0-style) and fixed windows of 3 turns. A turn counts as kept when some
request contains it. Evidence ids ("D1:3" = session 1, turn 3) are normalised from the raw QA evidence:
"D8:6; D9:17" is split and "D:11:26" read as D11:26; ids naming no turn are counted as unresolved.

The shipped data (`locomo_dev5.json`) is *dev* data: the processor defaults were tuned on it, so its
figures are optimistic for unseen conversations.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from processors.dedupe import HashingEmbedder
from processors.emitted import extraction_request, window_turn
from processors.pipeline import TurnProcessor
from processors.priority import PriorityClass, Score
from processors.stage_settings import ProcessorSettings
from processors.state import ConversationState
from processors.tokens import estimate_tokens, turn_text, turn_tokens
from schemas.events import Attachment, ConversationTurn, ExtractionRequest, Role, SkipRecord

CATEGORIES = {1: "multi_hop", 2: "temporal", 3: "open_domain", 4: "single_hop", 5: "adversarial"}
TENANT = "locomo"
_EVIDENCE = re.compile(r"D:?(\d+):(\d+)")
_SESSION = re.compile(r"session_(\d+)")
HEADLINE = ("token_fraction", "qa_evidence_recall", "observation_evidence_recall", "requests_per_100_turns")
"""The metrics a sweep row keeps."""


@dataclass(frozen=True)
class QaItem:
    question: str
    category: int
    evidence: tuple[int, ...]
    """Turn indexes of the evidence turns."""


@dataclass(frozen=True)
class LocomoConversation:
    sample_id: str
    turns: tuple[ConversationTurn, ...]
    session_starts: tuple[datetime, ...]
    qa: tuple[QaItem, ...]
    observation_turns: frozenset[int]
    unresolved_evidence: int = 0


def parse_session_time(text: str) -> datetime:
    """A session date such as "1:56 pm on 8 May, 2023", as a UTC datetime."""
    return datetime.strptime(text.strip(), "%I:%M %p on %d %B, %Y").replace(tzinfo=UTC)


def normalise_evidence(raw: Any) -> list[str]:
    """Evidence ids as "D<session>:<turn>" from a raw id, a list of them or a "; "-joined string."""
    items = raw if isinstance(raw, list) else [raw]
    return [f"D{s}:{t}" for item in items for s, t in _EVIDENCE.findall(str(item))]


def _turn(sample_id: str, index: int, session: int, at: datetime, raw: dict[str, Any]) -> ConversationTurn:
    url = raw.get("img_url")
    caption = raw.get("blip_caption")
    image = Attachment(kind="image", url=url[0] if isinstance(url, list) and url else url, caption=caption)
    return ConversationTurn(
        event_id=f"{sample_id}:{raw['dia_id']}",
        conversation_id=sample_id,
        turn_index=index,
        tenant_id=TENANT,
        user_id=raw["speaker"],
        platform="locomo",
        role=Role.USER,
        speaker=raw["speaker"],
        content=raw["text"],
        token_count=estimate_tokens(raw["text"]),
        attachments=(image,) if caption else (),
        session_id=f"{sample_id}:session_{session}",
        event_time=at,
        published_at=at,
        metadata={"dia_id": raw["dia_id"]},
    )


def load_locomo(path: Path | str, turn_interval_s: float = 30.0) -> list[LocomoConversation]:
    """The conversations of a LoCoMo-format JSON file, as turns plus their evidence."""
    conversations = []
    for sample in json.loads(Path(path).read_text(encoding="utf-8")):
        sample_id, conv = str(sample["sample_id"]), sample["conversation"]
        sessions = sorted((int(m.group(1)), k) for k in conv if (m := _SESSION.fullmatch(k)) and conv[k])
        turns: list[ConversationTurn] = []
        starts: list[datetime] = []
        index_of: dict[str, int] = {}
        for number, key in sessions:
            starts.append(parse_session_time(conv[f"{key}_date_time"]))
            for offset, raw in enumerate(conv[key]):
                index_of[raw["dia_id"]] = len(turns)
                at = starts[-1] + timedelta(seconds=offset * turn_interval_s)
                turns.append(_turn(sample_id, len(turns), number, at, raw))
        unresolved = 0
        qa = []
        for item in sample.get("qa", ()):
            ids = normalise_evidence(item.get("evidence", []))
            unresolved += sum(1 for i in ids if i not in index_of)
            evidence = tuple(dict.fromkeys(index_of[i] for i in ids if i in index_of))
            qa.append(QaItem(str(item.get("question", "")), int(item.get("category", 0)), evidence))
        observed = {
            index_of[i]
            for per_session in sample.get("observation", {}).values()
            for facts in per_session.values()
            for fact in facts
            for i in normalise_evidence(fact[1] if len(fact) > 1 else [])
            if i in index_of
        }
        conversations.append(
            LocomoConversation(sample_id, tuple(turns), tuple(starts), tuple(qa), frozenset(observed), unresolved)
        )
    return conversations


def run_processor(
    conversations: Sequence[LocomoConversation], processor: TurnProcessor
) -> tuple[list[ExtractionRequest], list[SkipRecord]]:
    """Every conversation's turns through `processor` in order, ticking at each session start."""
    requests: list[ExtractionRequest] = []
    skips: list[SkipRecord] = []
    for conv in conversations:
        state: ConversationState | None = None
        starts = set(conv.session_starts)
        for offset, turn in enumerate(conv.turns):
            if state is not None and turn.event_time in starts:
                state, ticked = processor.tick(state, turn.event_time)
                requests.extend(ticked.requests)
            state, decision = processor.process(state, turn, 0, offset)
            requests.extend(decision.requests)
            skips.extend(decision.skips)
        if state is not None and conv.turns:
            end = conv.turns[-1].event_time + timedelta(seconds=processor.settings.idle_timeout_s)
            state, ticked = processor.tick(state, end)
            requests.extend(ticked.requests + processor.flush(state, end)[1].requests)
    return requests, skips


def baseline_windows(conversations: Sequence[LocomoConversation], size: int) -> list[ExtractionRequest]:
    """Every turn sent, in fixed windows of `size` turns (size 1: one request per turn, Mem0-style)."""
    settings, neutral = ProcessorSettings(), Score(PriorityClass.FACT, 0.5, ())
    requests = []
    for conv in conversations:
        state = ConversationState(conv.sample_id, TENANT, conv.turns[0].user_id if conv.turns else "")
        for start in range(0, len(conv.turns), size):
            chunk = [
                window_turn(t, turn_text(t), turn_tokens(t), neutral, source_offset=t.turn_index)
                for t in conv.turns[start : start + size]
            ]
            now = chunk[-1].event_time
            requests.append(extraction_request(state, chunk, trigger="baseline", now=now, settings=settings))
    return requests


def compute_metrics(
    conversations: Sequence[LocomoConversation], requests: Iterable[ExtractionRequest]
) -> dict[str, Any]:
    """Token fraction, requests per 100 turns and evidence recall of `requests` over `conversations`."""
    requests = list(requests)
    kept = {(r.conversation_id, t.turn_index) for r in requests for t in r.turns}
    n_turns = sum(len(c.turns) for c in conversations)
    total = sum(turn_tokens(t) for c in conversations for t in c.turns)
    forwarded = sum(t.token_count for r in requests for t in r.turns)

    def recall(ids: set[tuple[str, int]]) -> float:
        return sum(1 for i in ids if i in kept) / len(ids) if ids else float("nan")

    by_category: dict[str, set[tuple[str, int]]] = {name: set() for name in CATEGORIES.values()}
    questions = covered = 0
    for conv in conversations:
        for qa in conv.qa:
            ids = {(conv.sample_id, i) for i in qa.evidence}
            by_category.setdefault(CATEGORIES.get(qa.category, str(qa.category)), set()).update(ids)
            if ids:
                questions += 1
                covered += all(i in kept for i in ids)
    qa_ids = set().union(*by_category.values())
    observed = {(c.sample_id, i) for c in conversations for i in c.observation_turns}
    return {
        "turns": n_turns,
        "requests": len(requests),
        "requests_per_100_turns": 100.0 * len(requests) / n_turns if n_turns else 0.0,
        "tokens_total": total,
        "tokens_forwarded": forwarded,
        "token_fraction": forwarded / total if total else 0.0,
        "mean_request_tokens": forwarded / len(requests) if requests else 0.0,
        "qa_evidence_turns": len(qa_ids),
        "qa_evidence_recall": recall(qa_ids),
        "qa_question_coverage": covered / questions if questions else float("nan"),
        "qa_recall_by_category": {name: recall(ids) for name, ids in by_category.items()},
        "observation_evidence_turns": len(observed),
        "observation_evidence_recall": recall(observed),
        "unresolved_evidence_ids": sum(c.unresolved_evidence for c in conversations),
    }


def _filter_metrics(conversations: Sequence[LocomoConversation], settings: ProcessorSettings) -> dict[str, Any]:
    requests, skips = run_processor(conversations, TurnProcessor(settings, embedder=HashingEmbedder()))
    metrics = compute_metrics(conversations, requests)
    in_requests = Counter((r.conversation_id, t.turn_index) for r in requests for t in r.turns)
    skipped = Counter((s.conversation_id, s.turn_index) for s in skips)
    every = {(c.sample_id, t.turn_index) for c in conversations for t in c.turns}
    metrics["accounted"] = all(in_requests[k] + skipped[k] == 1 for k in every)
    metrics["skips_by_reason"] = dict(Counter(f"{s.stage.value}:{s.reason}" for s in skips).most_common())
    metrics["requests_by_trigger"] = dict(Counter(r.trigger for r in requests).most_common())
    metrics["requests_by_route"] = dict(Counter(r.route for r in requests).most_common())
    return metrics


def evaluate(path: Path | str, settings: ProcessorSettings | None = None) -> dict[str, Any]:
    """The filter's metrics under `settings` (defaults if None) and the two baselines', on one file."""
    settings = settings or ProcessorSettings()
    conversations = load_locomo(path)
    return {
        "data": str(path),
        "note": "dev data: the processor defaults were tuned on it",
        "settings": settings.model_dump(mode="json"),
        "filter": _filter_metrics(conversations, settings),
        "baselines": {
            "per_turn": compute_metrics(conversations, baseline_windows(conversations, 1)),
            "window_3": compute_metrics(conversations, baseline_windows(conversations, 3)),
        },
    }


def sweep(
    path: Path | str,
    parameter: str = "fact_min_information",
    values: Sequence[float] = (0.0, 1.0, 2.0, 3.0, 4.0),
    base: ProcessorSettings | None = None,
) -> list[dict[str, Any]]:
    """One row of headline metrics per value of `parameter` (a `ProcessorSettings` field)."""
    conversations = load_locomo(path)
    base_values = (base or ProcessorSettings()).model_dump()
    rows = []
    for value in values:
        metrics = _filter_metrics(conversations, ProcessorSettings.model_validate({**base_values, parameter: value}))
        rows.append({"parameter": parameter, "value": value, **{k: metrics[k] for k in HEADLINE}})
    return rows


def write_plot(
    rows: Sequence[dict[str, Any]], out: Path | str, baselines: dict[str, dict[str, Any]] | None = None
) -> Path:
    """Recall of evidence turns vs token fraction for the sweep `rows` (and baselines), as a PNG."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 5))
    xs = [r["token_fraction"] for r in rows]
    ax.plot(xs, [r["qa_evidence_recall"] for r in rows], "o-", label="filter: QA evidence recall")
    ax.plot(xs, [r["observation_evidence_recall"] for r in rows], "s--", label="filter: observation recall")
    for row in rows:
        ax.annotate(f"{row['value']:g}", (row["token_fraction"], row["qa_evidence_recall"]), fontsize=7)
    for name, m in (baselines or {}).items():
        label = f"{name} ({m['requests_per_100_turns']:.0f} req/100 turns)"
        ax.plot(m["token_fraction"], m["qa_evidence_recall"], "x", markersize=10, label=label)
    ax.axvspan(0.0, 0.6, alpha=0.06, color="green", label="goal: tokens <= 0.6")
    ax.axhline(0.97, color="green", linestyle=":", label="goal: recall >= 0.97")
    ax.set(xlabel="fraction of turn tokens sent to extraction", ylabel="recall of evidence turns")
    ax.set(title=f"memlane processors on LoCoMo (dev data), sweep of {rows[0]['parameter'] if rows else '-'}")
    ax.set(xlim=(0.0, 1.05), ylim=(0.0, 1.02))
    ax.legend(fontsize=7, loc="lower right")
    out_path = Path(out)
    out_path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out_path, dpi=120, bbox_inches="tight")
    plt.close(fig)
    return out_path


__all__ = [
    "CATEGORIES",
    "HEADLINE",
    "LocomoConversation",
    "QaItem",
    "baseline_windows",
    "compute_metrics",
    "evaluate",
    "load_locomo",
    "normalise_evidence",
    "parse_session_time",
    "run_processor",
    "sweep",
    "write_plot",
]
