"""Text embeddings for memories and queries: one `Embedder` contract, an offline ONNX default, Ollama.

from sinks.embeddings import build_embedder
vectors = build_embedder(settings.sinks).embed(["I love pizza"])   # (1, 384) float32, unit rows
"""

from .base import Embedder, FloatMatrix, l2_normalise
from .embedder_factory import build_embedder, shared_onnx_embedder
from .ollama import OllamaEmbedder
from .onnx import OnnxEmbedder

__all__ = [
    "Embedder",
    "FloatMatrix",
    "OllamaEmbedder",
    "OnnxEmbedder",
    "build_embedder",
    "l2_normalise",
    "shared_onnx_embedder",
]
