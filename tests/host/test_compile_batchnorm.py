"""Batch normalization at inference (harness.compile.batchnorm, run by frameworks.INFERENCE_PASSES): one that
follows a convolution with a bias (TVM's ONNX frontend emits conv2d -> add -> batch_norm for a Conv with B, the
form Relax's FoldBatchnormToConv2D does not match) is folded into the convolution's weights and bias, one that
does not becomes a multiply-add; either way the compiled model answers as ONNX Runtime does on the raw graph,
with non-trivial statistics and epsilon."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
import pytest
from onnx import TensorProto, helper, numpy_helper

from harness.compile import compile_model
from harness.compile.frameworks import for_inference
from harness.compile.input_config import ModelInput
from harness.compile.onnx_model import import_onnx

SHAPE = [1, 3, 8, 8]


def _stats(rng: np.random.Generator, prefix: str, channels: int) -> list[onnx.TensorProto]:
    return [numpy_helper.from_array(rng.standard_normal(channels).astype(np.float32), f"{prefix}_scale"),
            numpy_helper.from_array(rng.standard_normal(channels).astype(np.float32), f"{prefix}_bias"),
            numpy_helper.from_array(rng.standard_normal(channels).astype(np.float32), f"{prefix}_mean"),
            numpy_helper.from_array(rng.uniform(0.2, 3.0, channels).astype(np.float32), f"{prefix}_var")]


def _model() -> onnx.ModelProto:
    """Conv(with B) -> BatchNormalization -> Relu, Conv(without B) -> BatchNormalization (both fold) and a
BatchNormalization of the raw input (a multiply-add)."""
    rng = np.random.default_rng(11)
    weights = [numpy_helper.from_array(rng.standard_normal((4, 3, 3, 3)).astype(np.float32), "w"),
               numpy_helper.from_array(rng.standard_normal(4).astype(np.float32), "b"),
               numpy_helper.from_array(rng.standard_normal((2, 3, 1, 1)).astype(np.float32), "w2"),
               *_stats(rng, "bn1", 4), *_stats(rng, "bn2", 3), *_stats(rng, "bn3", 2)]
    nodes = [
        helper.make_node("Conv", ["x", "w", "b"], ["c"], pads=[1, 1, 1, 1], name="conv"),
        helper.make_node("BatchNormalization", ["c", "bn1_scale", "bn1_bias", "bn1_mean", "bn1_var"], ["n"],
                         epsilon=1e-3, name="bn_after_conv"),
        helper.make_node("Relu", ["n"], ["y"], name="relu"),
        helper.make_node("BatchNormalization", ["x", "bn2_scale", "bn2_bias", "bn2_mean", "bn2_var"], ["z"],
                         epsilon=1e-5, name="bn_of_input"),
        helper.make_node("Conv", ["x", "w2"], ["c2"], name="conv_without_bias"),
        helper.make_node("BatchNormalization", ["c2", "bn3_scale", "bn3_bias", "bn3_mean", "bn3_var"], ["u"],
                         epsilon=1e-2, name="bn_after_conv_without_bias"),
    ]
    graph = helper.make_graph(nodes, "conv_bn", [helper.make_tensor_value_info("x", TensorProto.FLOAT, SHAPE)],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 4, 8, 8]),
                               helper.make_tensor_value_info("z", TensorProto.FLOAT, SHAPE),
                               helper.make_tensor_value_info("u", TensorProto.FLOAT, [1, 2, 8, 8])],
                              initializer=weights)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 15)])
    onnx.checker.check_model(model)
    return model


def test_no_batch_norm_is_left_for_the_compiler():
    imported = import_onnx(_model(), [ModelInput("x", tuple(SHAPE), "float32")])
    assert str(imported).count("R.nn.batch_norm(") == 3
    simplified = str(for_inference(imported))
    assert "batch_norm" not in simplified
    assert simplified.count("R.nn.conv2d(") == 2
    # one bias add after each conv, one multiply-add for the other norm; nothing of the decomposed form
    assert (simplified.count("R.add("), simplified.count("R.multiply(")) == (3, 1)
    assert "R.subtract(" not in simplified and "R.divide(" not in simplified


@pytest.mark.slow
def test_the_compiled_model_answers_as_onnx_runtime_does(tmp_path: Path):
    import tvm
    from tvm import relax

    model = _model()
    onnx.save(model, tmp_path / "conv_bn.onnx")
    art = compile_model(tmp_path / "conv_bn.onnx", "ml_c4", {"x": SHAPE}, tmp_path / "out",
                        cache_dir=tmp_path / "cache")
    vm = relax.VirtualMachine(tvm.runtime.load_module(str(art.library)), tvm.cpu())
    session = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    rng = np.random.default_rng(3)
    for _ in range(3):
        x = rng.standard_normal(SHAPE).astype(np.float32)
        got = vm[art.meta.runtime.entry](tvm.runtime.tensor(x))
        for tensor, want in zip(got, session.run(None, {"x": x}), strict=True):
            np.testing.assert_allclose(tensor.numpy(), want, rtol=1e-4, atol=1e-4)
