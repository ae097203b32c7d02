"""Embedders: shapes, normalisation, batching invariance, semantic sanity, settings, helpful errors."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

from schemas.errors import ConfigError, SinkError
from sinks.embeddings import OllamaEmbedder, OnnxEmbedder, build_embedder, l2_normalise, shared_onnx_embedder
from sinks.embeddings.onnx import default_tokenizer_path
from sinks.sink_settings import SinkSettings
from streams.testing.fake_ollama import FakeOllamaServer


@pytest.fixture(scope="module")
def onnx() -> OnnxEmbedder:
    return shared_onnx_embedder()


def cos(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.dot(a, b))


def test_onnx_shapes_dtype_and_unit_rows(onnx: OnnxEmbedder) -> None:
    texts = ["I love pizza", "", "a much longer sentence " * 100]
    vectors = onnx.embed(texts)
    assert onnx.dim == 384 and onnx.name == "all-MiniLM-L6-v2-onnx-int8"
    assert vectors.shape == (3, 384)
    assert vectors.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    assert onnx.embed([]).shape == (0, 384)
    assert onnx.embed_one("I love pizza").shape == (384,)


def test_onnx_rejects_a_bare_string(onnx: OnnxEmbedder) -> None:
    with pytest.raises(TypeError):
        onnx.embed("I love pizza")


def test_onnx_vectors_do_not_depend_on_batching_or_order(onnx: OnnxEmbedder) -> None:
    texts = [f"memory number {i}: {'word ' * (i % 7)}about hiking in the alps" for i in range(11)]
    together = onnx.embed(texts)
    small = OnnxEmbedder(batch_size=3).embed(texts)
    reversed_ = onnx.embed(texts[::-1])[::-1]
    np.testing.assert_allclose(together, small, atol=1e-4)
    np.testing.assert_allclose(together, reversed_, atol=1e-4)
    np.testing.assert_allclose(together[4], onnx.embed_one(texts[4]), atol=1e-4)


def test_onnx_semantics(onnx: OnnxEmbedder) -> None:
    pizza, food, stocks, bug = onnx.embed(
        ["I love pizza", "Pizza is my favourite food", "The stock market fell 3% today", "Fix the parser bug"]
    )
    assert cos(pizza, food) > 0.75
    assert cos(pizza, food) > cos(pizza, stocks) + 0.5
    assert cos(pizza, food) > cos(pizza, bug) + 0.5


def test_onnx_matches_a_float32_reference(onnx: OnnxEmbedder) -> None:
    # Cosine of the two pizza sentences under the fp32 sentence-transformers model is 0.8672
    # (computed once from the original weights); int8 weights keep it within 0.01.
    pizza, food = onnx.embed(["I love pizza", "Pizza is my favourite food"])
    assert cos(pizza, food) == pytest.approx(0.8672, abs=0.01)


def test_tokenizer_is_the_uncased_wordpiece(onnx: OnnxEmbedder) -> None:
    from tokenizers import Tokenizer

    tokenizer = Tokenizer.from_file(str(default_tokenizer_path()))
    tokenizer.no_padding()
    assert tokenizer.encode("Hello WORLD").tokens == ["[CLS]", "hello", "world", "[SEP]"]
    assert tokenizer.get_vocab_size() == 30522


def test_missing_model_file_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="model file not found"):
        OnnxEmbedder(model_path=tmp_path / "missing.onnx")


def test_missing_onnxruntime_names_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "onnxruntime", None)
    with pytest.raises(ImportError, match=r"memlane\[sinks\]"):
        OnnxEmbedder()


def test_l2_normalise_keeps_zero_rows() -> None:
    out = l2_normalise(np.array([[3.0, 4.0], [0.0, 0.0]]))
    np.testing.assert_allclose(out, [[0.6, 0.8], [0.0, 0.0]])
    assert out.dtype == np.float32


def test_build_embedder_defaults_to_the_shared_onnx_one() -> None:
    assert build_embedder(SinkSettings()) is build_embedder(SinkSettings())
    assert isinstance(build_embedder(SinkSettings()), OnnxEmbedder)


def test_ollama_embedder_over_the_real_client() -> None:
    with FakeOllamaServer() as server:
        embedder = build_embedder(SinkSettings(embedder="ollama", embed_batch_size=2), ollama_url=server.url)
        try:
            assert isinstance(embedder, OllamaEmbedder)
            assert embedder.dim == 768 and embedder.name == "ollama/nomic-embed-text"
            vectors = embedder.embed(["a", "b", "c", "a"])
            assert vectors.shape == (4, 768)
            np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
            np.testing.assert_allclose(vectors[0], vectors[3])
        finally:
            embedder.close()


def test_ollama_errors_become_sink_errors() -> None:
    with FakeOllamaServer() as server:
        with pytest.raises(SinkError, match="no-such-model"):
            OllamaEmbedder(server.url, "no-such-model")
        embedder = OllamaEmbedder(server.url, dim=768)
        server.pause()
        try:
            with pytest.raises(SinkError, match="failed"):
                embedder.embed(["x"])
        finally:
            server.resume()
            embedder.close()


def test_ollama_dimension_mismatch_is_reported() -> None:
    with FakeOllamaServer() as server:
        embedder = OllamaEmbedder(server.url, dim=384)
        try:
            with pytest.raises(SinkError, match="768 dims, expected 384"):
                embedder.embed(["x"])
        finally:
            embedder.close()


def test_the_stronger_model_names_its_build_step_until_built(tmp_path: Path) -> None:
    from sinks.embeddings.local_models import MPNET

    with pytest.raises(ConfigError, match="make models"):
        OnnxEmbedder(model=MPNET, models_dir=tmp_path)
    with pytest.raises(ConfigError, match="make models"):
        build_embedder(SinkSettings(embed_model="all-mpnet-base-v2", models_dir=tmp_path))
