"""Small ONNX models shaped like the ones users bring (built with onnx.helper, weights seeded)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper


def _weight(name: str, shape: tuple[int, ...], seed: int) -> onnx.TensorProto:
    rng = np.random.default_rng(seed)
    return numpy_helper.from_array((rng.standard_normal(shape) / np.sqrt(shape[0])).astype(np.float32), name)


def _io(name: str, shape: list) -> onnx.ValueInfoProto:
    return helper.make_tensor_value_info(name, TensorProto.FLOAT, shape)


def _save(graph: onnx.GraphProto, path: Path) -> Path:
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    onnx.checker.check_model(model)
    onnx.save(model, path)
    return path


def vibration(path: Path) -> Path:
    """Predictive maintenance: a 256-sample vibration window -> Gemm -> Relu -> Gemm -> 4 condition scores."""
    nodes = [helper.make_node("Gemm", ["vibration", "w1", "b1"], ["h"]), helper.make_node("Relu", ["h"], ["r"]),
             helper.make_node("Gemm", ["r", "w2", "b2"], ["condition"])]
    inits = [_weight("w1", (256, 32), 1), _weight("b1", (32,), 2), _weight("w2", (32, 4), 3), _weight("b2", (4,), 4)]
    return _save(helper.make_graph(nodes, "vibration", [_io("vibration", [1, 256])],
                                   [_io("condition", [1, 4])], inits), path)


def two_inputs(path: Path) -> Path:
    """Sensor fusion: an accelerometer window and a feature vector, concatenated -> Gemm -> Sigmoid."""
    nodes = [helper.make_node("Concat", ["accel", "features"], ["both"], axis=1),
             helper.make_node("Gemm", ["both", "w", "b"], ["z"]), helper.make_node("Sigmoid", ["z"], ["risk"])]
    inits = [_weight("w", (24, 3), 5), _weight("b", (3,), 6)]
    return _save(helper.make_graph(nodes, "fusion", [_io("accel", [1, 16]),
                                                     _io("features", [1, 8])],
                                   [_io("risk", [1, 3])], inits), path)


def classifier_1000(path: Path) -> Path:
    """A MobileNet-shaped head: input 'input' [1,3,224,224] -> GlobalAveragePool -> Flatten -> Gemm(1000)."""
    nodes = [helper.make_node("GlobalAveragePool", ["input"], ["pooled"]),
             helper.make_node("Flatten", ["pooled"], ["flat"]),
             helper.make_node("Gemm", ["flat", "w", "b"], ["logits"])]
    inits = [_weight("w", (3, 1000), 7), _weight("b", (1000,), 8)]
    return _save(helper.make_graph(nodes, "classifier", [_io("input", [1, 3, 224, 224])],
                                   [_io("logits", [1, 1000])], inits), path)


def dynamic_batch(path: Path) -> Path:
    """A PyTorch-style export: dynamic batch, Shape -> Gather -> Unsqueeze -> Concat -> Reshape -> Gemm."""
    nodes = [helper.make_node("Shape", ["x"], ["xs"]),
             helper.make_node("Gather", ["xs", "zero"], ["n"], axis=0),
             helper.make_node("Unsqueeze", ["n", "axes"], ["n1"]),
             helper.make_node("Concat", ["n1", "minus_one"], ["flat_shape"], axis=0),
             helper.make_node("Reshape", ["x", "flat_shape"], ["flat"]),
             helper.make_node("Gemm", ["flat", "w", "b"], ["logits"])]
    ints = [numpy_helper.from_array(np.array(v, np.int64), n) for n, v in (("zero", 0), ("axes", [0]),
                                                                            ("minus_one", [-1]))]
    inits = [*ints, _weight("w", (192, 10), 9), _weight("b", (10,), 10)]
    return _save(helper.make_graph(nodes, "dynamic", [_io("x", ["batch", 3, 8, 8])],
                                   [_io("logits", ["batch", 10])], inits),
                 path)
