"""`memlane bench offload`: the zstd blob store on real large tool outputs (SWE-agent trajectories, loghub).

Stores every file under `<data>/swe_agent_trajs` and `<data>/loghub_2k`, plus each tool output parsed out
of the trajectories through the claim check (`offload_if_large`), into a temporary `BlobStore`, at zstd
levels 3, 10 and 19 side by side. Measures the compression ratio (raw / compressed bytes, overall and per
source), write and slice latency of 64 KiB pieces of the real files, slice latency of 64 KiB byte slices
and 2000-line slices of the stored files, and dedupe (storing everything again must add 0 bytes).
Temp stores are removed on exit.
"""

from __future__ import annotations

import json
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sinks.blobstore import DEFAULT_THRESHOLD_CHARS, MAX_SLICE_LINES, BlobStore, offload_if_large
from streams.bench.contract import BenchOptions, BenchReport
from streams.bench.report import percentile

SOURCES = ("swe_agent_trajs", "loghub_2k")
TOOL_OUTPUTS = "swe_tool_outputs"
COMPARE_LEVELS = (3, 10, 19)
CHUNK = 64 * 1024
GOAL_COMPRESSION_RATIO = 10.0
GOAL_OFFLOAD_P95_MS = 5.0
COLUMNS = (
    "level",
    "source",
    "blobs",
    "raw_bytes",
    "compressed_bytes",
    "ratio",
    "put_mb_s",
    "write_p50_ms",
    "write_p95_ms",
    "slice64k_p95_ms",
    "lines2000_p95_ms",
    "offload_p95_ms",
)


@dataclass
class _Tally:
    blobs: int = 0
    raw: int = 0
    compressed: int = 0
    seconds: float = 0.0

    def ratio(self) -> float:
        return self.raw / self.compressed if self.compressed else float("nan")


@dataclass
class _Corpus:
    files: dict[str, list[bytes]] = field(default_factory=dict)
    tool_outputs: list[str] = field(default_factory=list)


def _ms(ns: int) -> float:
    return ns / 1e6


def _texts(content: object) -> str | None:
    """Text of a message content: a str, or the text parts of a list of content blocks."""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        parts = [str(b["text"]) for b in content if isinstance(b, dict) and isinstance(b.get("text"), str)]
        return "".join(parts) if parts else None
    return None


def _tool_outputs(doc: object) -> Iterator[str]:
    """Tool outputs in one trajectory: SWE-agent `trajectory[].observation` (or tool/observation history
    messages when there is no trajectory), mini-swe-agent user messages after the task."""
    if isinstance(doc, dict):
        steps = doc.get("trajectory")
        if isinstance(steps, list) and steps:
            for step in steps:
                text = _texts(step.get("observation")) if isinstance(step, dict) else None
                if text:
                    yield text
            return
        history = doc.get("history")
        doc = history if isinstance(history, list) else []
        for message in doc:
            if isinstance(message, dict) and (
                message.get("role") == "tool" or message.get("message_type") == "observation"
            ):
                text = _texts(message.get("content"))
                if text:
                    yield text
        return
    if isinstance(doc, list):
        users = [m for m in doc if isinstance(m, dict) and m.get("role") in ("user", "tool")]
        for message in users[1:]:  # the first user message is the task, not a tool output
            text = _texts(message.get("content"))
            if text:
                yield text


def load_corpus(data_dir: Path) -> _Corpus:
    corpus = _Corpus()
    for source in SOURCES:
        root = data_dir / source
        if not root.is_dir():
            raise FileNotFoundError(f"benchmark data not found: {root} (set MEMLANE_DATA_DIR or --data)")
        paths = sorted(p for p in root.rglob("*") if p.is_file())
        corpus.files[source] = [p.read_bytes() for p in paths]
        for path in paths:
            if source == "swe_agent_trajs" and (path.suffix == ".traj" or path.name.endswith(".traj.json")):
                try:
                    doc = json.loads(path.read_bytes())
                except (ValueError, UnicodeDecodeError):
                    continue
                corpus.tool_outputs.extend(_tool_outputs(doc))
    return corpus


def _chunks(corpus: _Corpus) -> list[bytes]:
    """64 KiB pieces of the real files at half-chunk steps; shorter pieces when no file has a full one."""
    blobs = [data for source in SOURCES for data in corpus.files[source]]
    full = [d[i : i + CHUNK] for d in blobs for i in range(0, len(d) - CHUNK + 1, CHUNK // 2)]
    return full or [d[:CHUNK] for d in blobs if d]


def _store_corpus(store: BlobStore, corpus: _Corpus) -> tuple[dict[str, _Tally], list[str], int, int]:
    tallies = {name: _Tally() for name in (*SOURCES, TOOL_OUTPUTS)}
    file_keys: list[str] = []
    duplicates = offloaded = 0
    for source in SOURCES:
        for data in corpus.files[source]:
            t0 = time.perf_counter_ns()
            put = store.put(data, media_type="text/plain")
            tally = tallies[source]
            tally.seconds += (time.perf_counter_ns() - t0) / 1e9
            file_keys.append(put.sha256)
            if put.created:
                tally.blobs, tally.raw = tally.blobs + 1, tally.raw + put.info.size_bytes
                tally.compressed += put.info.compressed_bytes
            else:
                duplicates += 1
    tally = tallies[TOOL_OUTPUTS]
    for i, text in enumerate(corpus.tool_outputs):
        t0 = time.perf_counter_ns()
        result = offload_if_large(store, text, referrer=f"bench-output-{i}")
        tally.seconds += (time.perf_counter_ns() - t0) / 1e9
        if result.sha256 is None:
            continue
        offloaded += 1
        if result.created:
            tally.blobs, tally.raw = tally.blobs + 1, tally.raw + result.size_bytes
            tally.compressed += store.stat(result.sha256).compressed_bytes
        else:
            duplicates += 1
    return tallies, file_keys, duplicates, offloaded


@dataclass
class _SliceTimings:
    byte_ms: list[float] = field(default_factory=list)
    line_ms: list[float] = field(default_factory=list)
    line_cut: int = 0  # 2000-line requests the 64 KiB cap cut short
    line_bytes: int = 0  # bytes returned by all 2000-line requests


def _slice_timings(store: BlobStore, keys: list[str]) -> _SliceTimings:
    """64 KiB byte slices at 4 offsets and 2000-line slices at 2 starts of every stored file over 64 KiB."""
    out = _SliceTimings()
    for key in dict.fromkeys(keys):
        info = store.stat(key)
        if info.size_bytes <= CHUNK:
            continue
        for quarter in range(4):
            start = (info.size_bytes - CHUNK) * quarter // 3
            t0 = time.perf_counter_ns()
            piece = store.slice_bytes(key, start, start + CHUNK)
            out.byte_ms.append(_ms(time.perf_counter_ns() - t0))
            if len(piece.data) != CHUNK:
                raise AssertionError(f"64 KiB slice of {key} at {start} returned {len(piece.data)} bytes")
        for first in (1, 1 + piece.total_lines // 2):
            t0 = time.perf_counter_ns()
            lines = store.slice_lines(key, first, first + MAX_SLICE_LINES - 1)
            out.line_ms.append(_ms(time.perf_counter_ns() - t0))
            out.line_cut += int(lines.truncated)
            out.line_bytes += len(lines.data)
    return out


def _chunk_timings(store: BlobStore, chunks: list[bytes]) -> tuple[list[float], list[float], list[float]]:
    """Per 64 KiB piece: put (write) time, 64 KiB slice time, and their sum (the offload round trip)."""
    store.put(b"warm-up: open the index and the zstd context")
    write_ms: list[float] = []
    slice_ms: list[float] = []
    total_ms: list[float] = []
    for chunk in chunks:
        t0 = time.perf_counter_ns()
        put = store.put(chunk, media_type="text/plain")
        t1 = time.perf_counter_ns()
        piece = store.slice_bytes(put.sha256, 0, CHUNK)
        t2 = time.perf_counter_ns()
        if piece.data != chunk:
            raise AssertionError(f"slice of {put.sha256} is not byte-exact")
        write_ms.append(_ms(t1 - t0))
        slice_ms.append(_ms(t2 - t1))
        total_ms.append(_ms(t2 - t0))
    return write_ms, slice_ms, total_ms


def _dedupe(store: BlobStore, corpus: _Corpus) -> tuple[int, int, bool]:
    """Store the whole corpus again: (bytes added to the index, bytes added on disk, no put was new)."""
    before, disk_before = store.stats(), _disk_bytes(store.root)
    created = [store.put(d).created for s in SOURCES for d in corpus.files[s]]
    created += [offload_if_large(store, t).created for t in corpus.tool_outputs]
    after, disk_after = store.stats(), _disk_bytes(store.root)
    return after.compressed_bytes - before.compressed_bytes, disk_after - disk_before, not any(created)


def _disk_bytes(root: Path) -> int:
    return sum(p.stat().st_size for p in (root / "objects").rglob("*") if p.is_file())


def _allocated_bytes(root: Path) -> int:
    """Blocks the object files occupy on disk (each rounded up to whole filesystem blocks)."""
    return sum(p.stat().st_blocks * 512 for p in (root / "objects").rglob("*") if p.is_file())


def _measure_level(level: int, corpus: _Corpus, chunks: list[bytes], tmp: Path) -> dict[str, Any]:
    with BlobStore(tmp / f"corpus-{level}", level=level) as store:
        tallies, file_keys, duplicates, offloaded = _store_corpus(store, corpus)
        stats = store.stats()
        slices = _slice_timings(store, file_keys)
        added, disk_added, dedupe_ok = _dedupe(store, corpus)
        allocated = _allocated_bytes(store.root)
    with BlobStore(tmp / f"chunks-{level}", level=level) as store:
        write_ms, slice64_ms, offload_ms = _chunk_timings(store, chunks)
    return {
        "level": level,
        "tallies": tallies,
        "stats": stats,
        "duplicates": duplicates,
        "offloaded": offloaded,
        "byte_ms": slices.byte_ms,
        "line_ms": slices.line_ms,
        "line_slices": len(slices.line_ms),
        "line_cut": slices.line_cut,
        "line_mean_bytes": slices.line_bytes / len(slices.line_ms) if slices.line_ms else float("nan"),
        "allocated_bytes": allocated,
        "dedupe_added_bytes": added,
        "dedupe_added_disk_bytes": disk_added,
        "dedupe_ok": dedupe_ok and added == 0 and disk_added == 0,
        "write_ms": write_ms,
        "slice64_ms": slice64_ms,
        "offload_ms": offload_ms,
    }


def _rows(m: dict[str, Any]) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    tallies: dict[str, _Tally] = m["tallies"]
    for name, t in tallies.items():
        mb_s = t.raw / 1e6 / t.seconds if t.seconds else float("nan")
        rows.append(
            {"level": m["level"], "source": name, "blobs": t.blobs, "raw_bytes": t.raw}
            | {"compressed_bytes": t.compressed, "ratio": t.ratio(), "put_mb_s": mb_s}
        )
    stats = m["stats"]
    seconds = sum(t.seconds for t in tallies.values())
    rows.append(
        {
            "level": m["level"],
            "source": "all",
            "blobs": stats.blob_count,
            "raw_bytes": stats.raw_bytes,
            "compressed_bytes": stats.compressed_bytes,
            "ratio": stats.ratio,
            "put_mb_s": stats.raw_bytes / 1e6 / seconds if seconds else float("nan"),
            "write_p50_ms": percentile(m["write_ms"], 50),
            "write_p95_ms": percentile(m["write_ms"], 95),
            "slice64k_p95_ms": percentile(m["byte_ms"], 95),
            "lines2000_p95_ms": percentile(m["line_ms"], 95),
            "offload_p95_ms": percentile(m["offload_ms"], 95),
        }
    )
    return rows


def run(options: BenchOptions) -> BenchReport:
    """Blob store figures on the loghub logs and SWE-agent tool outputs of the data directory (or `--data`)."""
    return measure(options.data or options.settings.data_dir)


def measure(data_dir: Path, level: int = 10) -> BenchReport:
    """Compression, offload and slice figures of the blob store at zstd `level` on the files under `data_dir`."""
    corpus = load_corpus(Path(data_dir))
    chunks = _chunks(corpus)
    levels = sorted({*COMPARE_LEVELS, level})
    with tempfile.TemporaryDirectory(prefix="memlane-bench-offload-") as tmp:
        measured = {lv: _measure_level(lv, corpus, chunks, Path(tmp)) for lv in levels}
    rows = [row for lv in levels for row in _rows(measured[lv])]
    m = measured[level]
    tallies: dict[str, _Tally] = m["tallies"]
    ratio = float(m["stats"].ratio)
    offload_p95 = percentile(m["offload_ms"], 95)
    summary: dict[str, Any] = {
        "level": level,
        "compression_ratio": ratio,
        "compression_ratio_by_source": {name: t.ratio() for name, t in tallies.items()},
        "compression_ratio_by_level": {lv: float(measured[lv]["stats"].ratio) for lv in levels},
        "offload_p95_ms_by_level": {lv: percentile(measured[lv]["offload_ms"], 95) for lv in levels},
        "blobs": m["stats"].blob_count,
        "raw_bytes": m["stats"].raw_bytes,
        "compressed_bytes": m["stats"].compressed_bytes,
        "on_disk_bytes": m["allocated_bytes"],
        "on_disk_ratio": m["stats"].raw_bytes / m["allocated_bytes"] if m["allocated_bytes"] else float("nan"),
        "tool_outputs_seen": len(corpus.tool_outputs),
        "tool_outputs_offloaded": m["offloaded"],
        "duplicate_puts_first_pass": m["duplicates"],
        "chunks_timed": len(chunks),
        "write_p50_ms": percentile(m["write_ms"], 50),
        "write_p95_ms": percentile(m["write_ms"], 95),
        "slice_64k_chunk_p95_ms": percentile(m["slice64_ms"], 95),
        "slice_bytes_p50_ms": percentile(m["byte_ms"], 50),
        "slice_bytes_p95_ms": percentile(m["byte_ms"], 95),
        "slice_lines_p50_ms": percentile(m["line_ms"], 50),
        "slice_lines_p95_ms": percentile(m["line_ms"], 95),
        "line_slices": m["line_slices"],
        "line_slices_cut_by_byte_cap": m["line_cut"],
        "line_slice_mean_bytes": m["line_mean_bytes"],
        "offload_p50_ms": percentile(m["offload_ms"], 50),
        "offload_p95_ms": offload_p95,
        "dedupe_added_bytes": m["dedupe_added_bytes"],
        "dedupe_added_disk_bytes": m["dedupe_added_disk_bytes"],
        "dedupe_ok": m["dedupe_ok"],
        "goal_compression_ratio": GOAL_COMPRESSION_RATIO,
        "goal_offload_p95_ms": GOAL_OFFLOAD_P95_MS,
        "meets_goals": bool(ratio >= GOAL_COMPRESSION_RATIO and offload_p95 <= GOAL_OFFLOAD_P95_MS),
    }
    notes = [
        f"data: {Path(data_dir)}; compression ratio = raw / compressed bytes of unique blobs, level {level}",
        f"write/offload latency: put (+ 64 KiB slice) of {len(chunks)} 64 KiB pieces of the real files, "
        "fsync on, fresh store",
        "slice64k/lines2000: slices of stored whole files over 64 KiB (each decompresses + re-hashes)",
        f"{m['line_cut']} of {m['line_slices']} 2000-line requests were cut by the 64 KiB per-fetch cap",
        "on_disk_bytes: blocks allocated to object files (block rounding per object; index not counted)",
        f"tool outputs over {DEFAULT_THRESHOLD_CHARS} chars offloaded via offload_if_large: "
        f"{summary['tool_outputs_offloaded']}",
    ]
    return BenchReport("offload", columns=COLUMNS, rows=rows, summary=summary, notes=notes)


__all__ = ["GOAL_COMPRESSION_RATIO", "GOAL_OFFLOAD_P95_MS", "load_corpus", "measure", "run"]
