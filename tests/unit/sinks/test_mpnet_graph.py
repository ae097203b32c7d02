"""The build step's MPNet graph: the same encoder as a NumPy transcription of Hugging Face's `MPNetModel`.

A tiny random MPNet (2 layers, 16 dims) runs through onnxruntime and through NumPy; the built all-mpnet-base-v2
is checked against sentence-transformers' own vectors when it has been built (`make models`).
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest

from sinks.embeddings.local_models import MPNET, REFERENCE_FILE
from sinks.embeddings.mpnet_graph import MAX_LEN, mpnet_onnx, relative_buckets

CONFIG = {
    "hidden_size": 16,
    "num_attention_heads": 2,
    "num_hidden_layers": 2,
    "intermediate_size": 32,
    "layer_norm_eps": 1e-5,
    "pad_token_id": 1,
    "relative_attention_num_buckets": 32,
}


def tiny_weights(seed: int = 3) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    h, inner = CONFIG["hidden_size"], CONFIG["intermediate_size"]

    def r(*shape: int) -> np.ndarray:
        return rng.normal(0, 0.3, shape).astype(np.float32)

    w = {
        "embeddings.word_embeddings.weight": r(50, h),
        "embeddings.position_embeddings.weight": r(MAX_LEN, h),
        "embeddings.LayerNorm.weight": 1 + r(h),
        "embeddings.LayerNorm.bias": r(h),
        "encoder.relative_attention_bias.weight": r(32, CONFIG["num_attention_heads"]),
    }
    for i in range(CONFIG["num_hidden_layers"]):
        p = f"encoder.layer.{i}"
        for part in "qkvo":
            w[f"{p}.attention.attn.{part}.weight"], w[f"{p}.attention.attn.{part}.bias"] = r(h, h), r(h)
        w[f"{p}.intermediate.dense.weight"], w[f"{p}.intermediate.dense.bias"] = r(inner, h), r(inner)
        w[f"{p}.output.dense.weight"], w[f"{p}.output.dense.bias"] = r(h, inner), r(h)
        for norm in ("attention.LayerNorm", "output.LayerNorm"):
            w[f"{p}.{norm}.weight"], w[f"{p}.{norm}.bias"] = 1 + r(h), r(h)
    return w


def layer_norm(x: np.ndarray, w: dict[str, np.ndarray], name: str) -> np.ndarray:
    mean, var = x.mean(-1, keepdims=True), x.var(-1, keepdims=True)
    return (x - mean) / np.sqrt(var + 1e-5) * w[f"{name}.weight"] + w[f"{name}.bias"]


def reference(w: dict[str, np.ndarray], ids: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """`MPNetModel.forward` (eval mode) transcribed to NumPy."""
    heads, h = CONFIG["num_attention_heads"], CONFIG["hidden_size"]
    size, length = h // heads, ids.shape[1]
    not_pad = (ids != 1).astype(np.int64)
    positions = np.cumsum(not_pad, axis=1) * not_pad + 1
    x = w["embeddings.word_embeddings.weight"][ids] + w["embeddings.position_embeddings.weight"][positions]
    x = layer_norm(x, w, "embeddings.LayerNorm")
    bias = w["encoder.relative_attention_bias.weight"][relative_buckets(length)].transpose(2, 0, 1)[None]
    bias = bias + ((1.0 - mask) * -1e9)[:, None, None, :]

    def lin(v: np.ndarray, name: str) -> np.ndarray:
        return v @ w[f"{name}.weight"].T + w[f"{name}.bias"]

    def split(v: np.ndarray) -> np.ndarray:
        return v.reshape(v.shape[0], length, heads, size).transpose(0, 2, 1, 3)

    for i in range(CONFIG["num_hidden_layers"]):
        p = f"encoder.layer.{i}"
        q, k, v = (split(lin(x, f"{p}.attention.attn.{part}")) for part in "qkv")
        scores = q @ k.transpose(0, 1, 3, 2) / math.sqrt(size) + bias
        probs = np.exp(scores - scores.max(-1, keepdims=True))
        probs /= probs.sum(-1, keepdims=True)
        context = (probs @ v).transpose(0, 2, 1, 3).reshape(x.shape[0], length, h)
        x = layer_norm(lin(context, f"{p}.attention.attn.o") + x, w, f"{p}.attention.LayerNorm")
        inner = lin(x, f"{p}.intermediate.dense")
        gelu = 0.5 * inner * (1 + np.vectorize(math.erf)(inner / math.sqrt(2)))
        x = layer_norm(lin(gelu, f"{p}.output.dense") + x, w, f"{p}.output.LayerNorm")
    return x


def test_the_graph_computes_mpnet() -> None:
    pytest.importorskip("onnx")
    import onnxruntime as ort

    weights = tiny_weights()
    session = ort.InferenceSession(mpnet_onnx(weights, CONFIG).SerializeToString(), providers=["CPUExecutionProvider"])
    ids = np.array([[0, 7, 9, 12, 2, 1, 1], [0, 30, 2, 1, 1, 1, 1]], dtype=np.int64)
    mask = (ids != 1).astype(np.int64)
    (ours,) = session.run(None, {"input_ids": ids, "attention_mask": mask})
    expected = reference(weights, ids, mask.astype(np.float32))
    keep = mask.astype(bool)
    np.testing.assert_allclose(ours[keep], expected[keep], atol=2e-4)


def test_relative_buckets_are_t5_style() -> None:
    buckets = relative_buckets(200)
    assert buckets[0, 0] == 0 and buckets[5, 3] == 2 and buckets[3, 5] == 18
    assert buckets[0, 199] == 31 and buckets[199, 0] == 15  # far beyond max_distance: the last bucket
    assert buckets.max() == 31 and buckets.min() == 0


def built_model() -> Path | None:
    for root in (Path(".memlane/models"), Path.home() / ".memlane" / "models"):
        if (root / MPNET.directory / "model.onnx").is_file():
            return root / MPNET.directory
    return None


@pytest.mark.skipif(built_model() is None, reason="all-mpnet-base-v2 not built (make models)")
def test_the_built_model_matches_sentence_transformers() -> None:
    from sinks.embeddings import OnnxEmbedder

    directory = built_model()
    assert directory is not None
    embedder = OnnxEmbedder(
        model=MPNET, model_path=directory / "model.onnx", tokenizer_path=directory / "tokenizer.json"
    )
    reference_data = json.loads(REFERENCE_FILE.read_text())
    cosines = (embedder.embed(reference_data["texts"]) * np.asarray(reference_data["vectors"])).sum(axis=1)
    assert embedder.dim == 768 and embedder.name == "all-mpnet-base-v2-onnx-int8"
    assert cosines.min() > 0.97
