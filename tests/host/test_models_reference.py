"""Host references and the generic output message on a model with two inputs named as exporters name them
(':' and '/'): ONNX Runtime on the host, the same model compiled for ml_c4, seeded inputs and samples.npz."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper

from harness.compile import compile_model
from harness.models.compare import compare_payload
from harness.models.errors import ModelWorkloadError
from harness.models.reference import run_reference, runtime_for
from harness.models.samples import load_npz, random_inputs, specs_from
from harness.ondevice.output_summary import encode

A, B = "sensor:0", "window/feats"


@pytest.fixture(scope="module")
def two_inputs(tmp_path_factory) -> Path:
    rng = np.random.default_rng(11)
    w = rng.standard_normal((16, 300)).astype(np.float32)
    graph = helper.make_graph(
        [helper.make_node("MatMul", [A, "w"], ["h"]), helper.make_node("Add", ["h", B], ["y"]),
         helper.make_node("ReduceMax", ["y"], ["peak"], keepdims=0, axes=[1])],
        "two_inputs",
        [helper.make_tensor_value_info(A, TensorProto.FLOAT, [1, 16]),
         helper.make_tensor_value_info(B, TensorProto.FLOAT, [1, 300])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 300]),
         helper.make_tensor_value_info("peak", TensorProto.FLOAT, [1])],
        initializer=[numpy_helper.from_array(w, "w")])
    path = tmp_path_factory.mktemp("two") / "two_inputs.onnx"
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]), path)
    return path


def test_onnx_runtime_reference_is_the_model_computed(two_inputs):
    model = onnx.load(two_inputs)
    w = numpy_helper.to_array(model.graph.initializer[0])
    specs = specs_from([type("S", (), {"name": i.name, "shape": [1, 16] if i.name == A else [1, 300],
                                       "dtype": "float32"})() for i in model.graph.input])
    x = random_inputs(specs, seed=3)
    out = run_reference(two_inputs, x)
    assert list(out) == ["y", "peak"] and runtime_for(two_inputs) == "onnxruntime"
    want = x[A] @ w + x[B]
    np.testing.assert_allclose(out["y"], want, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(out["peak"], want.max(axis=1), rtol=1e-5)


def test_wrong_inputs_are_one_clear_error(two_inputs):
    with pytest.raises(ModelWorkloadError, match="missing"):
        run_reference(two_inputs, {A: np.zeros((1, 16), np.float32)})
    with pytest.raises(ModelWorkloadError, match="not found"):
        run_reference(two_inputs.with_name("nothing.onnx"), {})


@pytest.mark.slow
def test_compiled_outputs_agree_through_the_message(two_inputs, tmp_path):
    import tvm
    from tvm import relax

    art = compile_model(two_inputs, "ml_c4", {A: [1, 16], B: [1, 300]}, tmp_path / "ml_c4",
                        cache_dir=tmp_path / "cache")
    samples = random_inputs(art.meta.inputs, seed=9)
    np.savez(tmp_path / "samples.npz", **samples)
    inputs = load_npz(tmp_path / "samples.npz", art.meta.inputs)
    reference = run_reference(two_inputs, inputs)
    vm = relax.VirtualMachine(tvm.runtime.load_module(str(art.library)), tvm.cpu())
    got = vm[art.meta.runtime.entry](*(tvm.runtime.tensor(inputs[i.name]) for i in art.meta.inputs))
    device = {o.name: t.numpy() for o, t in zip(art.meta.outputs, got, strict=True)}
    verdict = compare_payload(encode(device), reference)
    assert verdict.ok, verdict.describe()
    device["y"][0, 7] += 1.0
    assert not compare_payload(encode(device), reference).ok
