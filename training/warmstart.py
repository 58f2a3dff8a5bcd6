"""The shipped model's weights, read back from its ONNX file, to start training from.

A fresh machine has no checkpoint, but every checkout has the shipped model: starting from it
makes each session's training carry over to the next, on any machine.

The file (`int8mm`, see `training.export`) keeps the float32 tensors under their PyTorch names,
the word embeddings as float16 (`<name>__fp16`), and each matrix product as int8 with a scale
and zero point per output column under an anonymous name (`onnx::MatMul_896_quantized`).
Those are named by following the graph: from the `MatMulInteger` that reads the matrix, down
to the first `Add` whose other input is a named bias (`....query.bias` -> `....query.weight`).
Dequantised, `(q - zero_point) * scale` is within the model's own quantisation error of the
trained float32 weights. Written by hand: no library reads a quantised graph back into a
PyTorch state dict.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import onnx
import torch
from onnx import numpy_helper

from qa.reader.model import MODEL_FILE

PROGRESS_FILE = "progress.json"  # beside the shipped model: where its training stopped


def _consumers(graph: onnx.GraphProto) -> dict[str, list[onnx.NodeProto]]:
    out: dict[str, list[onnx.NodeProto]] = {}
    for node in graph.node:
        for name in node.input:
            out.setdefault(name, []).append(node)
    return out


def _bias_after(
    node: onnx.NodeProto, consumers: dict[str, list[onnx.NodeProto]], biases: set[str]
) -> str | None:
    """The named bias added to this product's result, searching downstream breadth-first."""
    frontier, seen = [node], set()
    for _ in range(8):
        following = []
        for n in frontier:
            for out in n.output:
                for c in consumers.get(out, []):
                    if c.name in seen:
                        continue
                    seen.add(c.name)
                    named = [i for i in c.input if i in biases]
                    if c.op_type == "Add" and named:
                        return named[0]
                    following.append(c)
        frontier = following
    return None


def _dequantized(arrays: dict[str, np.ndarray], stem: str) -> np.ndarray:
    """`stem`'s int8 values back in float32. A scale and zero point per output column
    (int8mm's matrices) or one for the whole tensor (onnxruntime's default int8): either
    broadcasts over the last axis."""
    q = arrays[f"{stem}_quantized"].astype(np.float32)
    zero = arrays[f"{stem}_zero_point"].astype(np.float32)
    scale = arrays[f"{stem}_scale"].astype(np.float32)
    if zero.ndim:  # per column of an (in, out) matrix
        zero, scale = zero.reshape(1, -1), scale.reshape(1, -1)
    return (q - zero) * scale


def state_from_onnx(path: Path) -> dict[str, torch.Tensor]:
    """A `training.model.SpanReader` state dict from a shipped ONNX file."""
    model = onnx.load(str(path))
    graph = model.graph
    arrays: dict[str, np.ndarray] = {i.name: numpy_helper.to_array(i) for i in graph.initializer}
    state: dict[str, torch.Tensor] = {}
    biases = {name for name in arrays if name.endswith(".bias")}
    for name, value in arrays.items():
        if name.endswith("__fp16"):
            state[name.removesuffix("__fp16")] = torch.from_numpy(value.astype(np.float32))
        elif name.endswith(("_scale", "_zero_point")):
            continue  # quantisation parameters, applied below
        elif not name.startswith("onnx::") and value.dtype == np.float32:
            state[name] = torch.from_numpy(value.copy())
    consumers = _consumers(graph)
    for node in graph.node:
        if node.op_type != "MatMulInteger":
            continue
        quantized = node.input[1]
        stem = quantized.removesuffix("_quantized")
        bias = _bias_after(node, consumers, biases)
        if bias is None:
            raise ValueError(f"{path}: cannot tell which layer {quantized} belongs to")
        weight = _dequantized(arrays, stem)
        state[bias.removesuffix(".bias") + ".weight"] = torch.from_numpy(weight.T.copy())
    # Named int8 tensors: onnxruntime's default int8 also quantizes the embedding lookups, with
    # one scale per tensor, under the tensor's own name.
    for name in arrays:
        stem = name.removesuffix("_quantized")
        if stem == name or name.startswith("onnx::") or stem in state:
            continue
        if f"{stem}_scale" in arrays and f"{stem}_zero_point" in arrays:
            state[stem] = torch.from_numpy(_dequantized(arrays, stem).copy())
    if "head.weight" not in state:
        raise ValueError(f"{path}: no reader head in the file")
    return state


def load_shipped(folder: Path) -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
    """The shipped model's weights and where its training stopped ({} when not recorded)."""
    state = state_from_onnx(folder / MODEL_FILE)
    progress_path = folder / PROGRESS_FILE
    progress = json.loads(progress_path.read_text()) if progress_path.exists() else {}
    return state, progress
