"""bind_and_fold on a PyTorch-style export: dynamic batch, a Shape -> Gather -> Concat -> Reshape subgraph,
Identity on the shape and a Flatten/MatMul head. TVM's Relax importer rejects the raw graph; the folded one
imports, compiles for ml_c4 and answers as ONNX Runtime does on the raw model."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
import pytest
from onnx import TensorProto, helper, numpy_helper

from harness.compile import CompileError, compile_model
from harness.compile.fold import StaticShapeError, bind_and_fold
from harness.compile.input_config import ModelInput
from harness.compile.onnx_model import import_onnx

BATCH = 2


def _dynamic_model() -> onnx.ModelProto:
    rng = np.random.default_rng(7)
    w = numpy_helper.from_array(rng.standard_normal((3 * 8 * 8, 10)).astype(np.float32), "w")
    w2 = numpy_helper.from_array(rng.standard_normal((3 * 8 * 8, 4)).astype(np.float32), "w2")
    b = numpy_helper.from_array(rng.standard_normal(10).astype(np.float32), "b")
    consts = [numpy_helper.from_array(np.array([0], np.int64), "zero"),
              numpy_helper.from_array(np.array([-1], np.int64), "minus_one")]
    nodes = [
        helper.make_node("Relu", ["x"], ["r"], name="relu"),
        helper.make_node("Shape", ["r"], ["r_shape"], name="shape"),
        helper.make_node("Identity", ["r_shape"], ["r_shape_id"], name="shape_identity"),
        helper.make_node("Gather", ["r_shape_id", "zero"], ["n"], axis=0, name="gather_batch"),
        helper.make_node("Concat", ["n", "minus_one"], ["new_shape"], axis=0, name="concat_shape"),
        helper.make_node("Reshape", ["r", "new_shape"], ["flat"], name="reshape"),
        helper.make_node("MatMul", ["flat", "w"], ["mm"], name="matmul"),
        helper.make_node("Add", ["mm", "b"], ["logits"], name="add"),
        helper.make_node("Flatten", ["r"], ["flat2"], axis=1, name="flatten"),
        helper.make_node("MatMul", ["flat2", "w2"], ["aux"], name="matmul_aux"),
    ]
    graph = helper.make_graph(
        nodes, "dynamic_batch",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["batch", 3, 8, 8])],
        [helper.make_tensor_value_info("logits", TensorProto.FLOAT, ["batch", 10]),
         helper.make_tensor_value_info("aux", TensorProto.FLOAT, ["batch", 4])],
        initializer=[w, w2, b, *consts])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    onnx.checker.check_model(model)
    return model


def _ort(model: onnx.ModelProto, x: np.ndarray) -> list[np.ndarray]:
    session = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    return session.run(None, {"x": x})


def test_folding_removes_the_shape_subgraph_and_keeps_the_outputs():
    raw = _dynamic_model()
    folded = bind_and_fold(raw, {"x": [BATCH, 3, 8, 8]})
    ops = [n.op_type for n in folded.graph.node]
    assert "Shape" not in ops and "Gather" not in ops and "Concat" not in ops and "Identity" not in ops
    assert [o.name for o in folded.graph.output] == ["logits", "aux"]
    assert [[d.dim_value for d in o.type.tensor_type.shape.dim] for o in folded.graph.output] == [[BATCH, 10],
                                                                                                   [BATCH, 4]]
    rng = np.random.default_rng(0)
    for _ in range(3):
        x = rng.standard_normal((BATCH, 3, 8, 8)).astype(np.float32)
        for want, got in zip(_ort(raw, x), _ort(folded, x), strict=True):
            np.testing.assert_array_equal(got, want)


def test_model_path_is_accepted_and_the_original_is_untouched(tmp_path: Path):
    raw = _dynamic_model()
    onnx.save(raw, tmp_path / "m.onnx")
    folded = bind_and_fold(tmp_path / "m.onnx", {"x": [1, 3, 8, 8]})
    assert len(folded.graph.node) < len(raw.graph.node)
    assert "Shape" in [n.op_type for n in onnx.load(tmp_path / "m.onnx").graph.node]


@pytest.mark.slow
def test_tvm_rejects_the_raw_graph_and_compiles_the_folded_one_like_onnx_runtime(tmp_path: Path):
    import tvm
    from tvm import relax

    raw = _dynamic_model()
    bound = [ModelInput("x", (BATCH, 3, 8, 8), "float32")]
    with pytest.raises(CompileError, match="TVM cannot convert ONNX model: .*cannot handle ShapeExpr inputs"):
        import_onnx(raw, bound)
    folded = bind_and_fold(raw, {"x": [BATCH, 3, 8, 8]})
    onnx.save(folded, tmp_path / "folded.onnx")
    art = compile_model(tmp_path / "folded.onnx", "ml_c4", {"x": [BATCH, 3, 8, 8]}, tmp_path / "out",
                        cache_dir=tmp_path / "cache")
    assert [(o.name, o.shape) for o in art.meta.outputs] == [("logits", [BATCH, 10]), ("aux", [BATCH, 4])]
    vm = relax.VirtualMachine(tvm.runtime.load_module(str(art.library)), tvm.cpu())
    x = np.random.default_rng(1).standard_normal((BATCH, 3, 8, 8)).astype(np.float32)
    got = vm["main"](tvm.runtime.tensor(x))
    for tensor, want in zip(got, _ort(raw, x), strict=True):
        np.testing.assert_allclose(tensor.numpy(), want, rtol=1e-5, atol=1e-5)


def test_a_data_dependent_shape_is_refused_naming_the_node_and_operator():
    graph = helper.make_graph(
        [helper.make_node("NonZero", ["x"], ["where"], name="find_hits")], "data_dependent",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["n", 4])],
        [helper.make_tensor_value_info("where", TensorProto.INT64, [2, "k"])])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    with pytest.raises(StaticShapeError, match=r"node 'find_hits' \(operator NonZero\)"):
        bind_and_fold(model, {"x": [3, 4]})


def test_unknown_and_missing_inputs_are_input_config_errors():
    raw = _dynamic_model()
    with pytest.raises(CompileError, match="input 'y' not found"):
        bind_and_fold(raw, {"y": [1, 3, 8, 8]})
    with pytest.raises(CompileError, match="missing from DataInputConfig"):
        bind_and_fold(raw, {})


def _transformer_style_model() -> onnx.ModelProto:
    """Opset-13 idioms of exported attention code: Slice of a shape, Unsqueeze with an axes input, Cast,
    ConstantOfShape and Expand, declared value_info carrying the old symbols, and int8 weights behind
    DequantizeLinear."""
    q = numpy_helper.from_array(np.arange(-8, 8, dtype=np.int8).reshape(4, 4), "wq")
    consts = [numpy_helper.from_array(np.array(v, np.int64), n) for n, v in
              (("s0", [1]), ("s1", [2]), ("ax0", [0]))]
    scale = numpy_helper.from_array(np.array(0.05, np.float32), "scale")
    nodes = [
        helper.make_node("Shape", ["x"], ["xs"]),
        helper.make_node("Slice", ["xs", "s0", "s1"], ["seq"]),  # [seq]
        helper.make_node("Cast", ["seq"], ["seq_f"], to=TensorProto.FLOAT),
        helper.make_node("Cast", ["seq_f"], ["seq_i"], to=TensorProto.INT64),
        helper.make_node("Squeeze", ["seq_i", "ax0"], ["seq_scalar"]),
        helper.make_node("Unsqueeze", ["seq_scalar", "ax0"], ["seq_vec"]),
        helper.make_node("Concat", ["seq_vec", "seq_vec"], ["mask_shape"], axis=0),
        helper.make_node("ConstantOfShape", ["mask_shape"], ["mask"],
                         value=numpy_helper.from_array(np.array([1.0], np.float32))),
        helper.make_node("DequantizeLinear", ["wq", "scale"], ["w"]),
        helper.make_node("MatMul", ["x", "w"], ["h"]),
        helper.make_node("MatMul", ["mask", "h"], ["y"]),
    ]
    graph = helper.make_graph(
        nodes, "attention_like", [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["batch", "seq", 4])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["batch", "seq", 4])],
        initializer=[q, scale, *consts],
        value_info=[helper.make_tensor_value_info("h", TensorProto.FLOAT, ["batch", "seq", 4])])
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])


def test_exported_attention_idioms_fold_and_quantized_weights_stay_quantized():
    raw = _transformer_style_model()
    folded = bind_and_fold(raw, {"x": [2, 5, 4]})
    ops = [n.op_type for n in folded.graph.node]
    assert ops == ["DequantizeLinear", "MatMul", "MatMul"]
    assert {t.name: t.data_type for t in folded.graph.initializer}["wq"] == TensorProto.INT8
    assert [d.dim_value for d in folded.graph.output[0].type.tensor_type.shape.dim] == [2, 5, 4]
    x = np.random.default_rng(2).standard_normal((2, 5, 4)).astype(np.float32)
    np.testing.assert_array_equal(_ort(folded, x)[0], _ort(raw, x)[0])


@pytest.mark.slow
def test_compile_model_folds_a_dynamic_export_bound_by_data_input_config(tmp_path: Path):
    onnx.save(_dynamic_model(), tmp_path / "dynamic.onnx")
    art = compile_model(tmp_path / "dynamic.onnx", "ml_c4", {"x": [BATCH, 3, 8, 8]}, tmp_path / "out",
                        cache_dir=tmp_path / "cache")
    assert [(i.name, i.shape) for i in art.meta.inputs] == [("x", [BATCH, 3, 8, 8])]
    assert [(o.name, o.shape) for o in art.meta.outputs] == [("logits", [BATCH, 10]), ("aux", [BATCH, 4])]
