"""Framework detection, and the one-line error when a framework's package is not installed."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

from harness.compile import CompileError, FrameworkUnavailable, compile_model
from harness.compile.frameworks import detect_framework


def test_detect_from_suffix_then_bytes():
    assert detect_framework(Path("m.onnx"), b"") == "onnx"
    assert detect_framework(Path("m.pt2"), b"") == "pytorch"
    assert detect_framework(Path("model"), b"\x1c\0\0\0TFL3....") == "tflite"
    assert detect_framework(Path("model"), b"PK\x03\x04") == "pytorch"


@pytest.mark.parametrize("suffix,framework,package", [(".tflite", "tflite", "tflite"), (".pt2", "pytorch", "torch")])
def test_missing_framework_package_is_named(tmp_path, suffix, framework, package):
    model = tmp_path / f"model{suffix}"
    model.write_bytes(b"\x1c\0\0\0TFL3" + b"\0" * 64)
    if importlib.util.find_spec(package) is None:
        with pytest.raises(FrameworkUnavailable, match=f"framework {framework} needs package {package}"):
            compile_model(model, "ml_c5", "[[1,3,8,8]]", tmp_path / "out", cache_dir=tmp_path / "c")
    else:  # installed: garbage bytes must still end in a typed error, not a traceback
        with pytest.raises(CompileError):
            compile_model(model, "ml_c5", "[[1,3,8,8]]", tmp_path / "out", cache_dir=tmp_path / "c")


def test_unreadable_and_corrupt_onnx(tmp_path):
    with pytest.raises(CompileError, match="cannot read model"):
        compile_model(tmp_path / "absent.onnx", "ml_c5", "[[1]]", tmp_path / "out", cache_dir=tmp_path / "c")
    bad = tmp_path / "bad.onnx"
    bad.write_bytes(b"\xff" * 50)
    with pytest.raises(CompileError, match="not a readable ONNX model"):
        compile_model(bad, "ml_c5", "[[1]]", tmp_path / "out", cache_dir=tmp_path / "c")


def test_onnx_external_data_is_loaded_confined_and_part_of_the_cache_key(tmp_path):
    import onnx

    from harness.compile import tvm_backend
    from harness.compile.bundled import BUNDLED_INPUT_CONFIG, BUNDLED_MODEL

    model = onnx.load(str(BUNDLED_MODEL))
    onnx.save(model, tmp_path / "ext.onnx", save_as_external_data=True, location="weights.bin", size_threshold=0)
    assert (tmp_path / "weights.bin").stat().st_size > (tmp_path / "ext.onnx").stat().st_size
    before = tvm_backend.COMPILES
    art = compile_model(tmp_path / "ext.onnx", "ml_c5", BUNDLED_INPUT_CONFIG, tmp_path / "a", cache_dir=tmp_path / "c")
    assert art.meta.outputs[0].shape == [1, 10]
    weights = bytearray((tmp_path / "weights.bin").read_bytes())
    weights[100] ^= 0xFF
    (tmp_path / "weights.bin").write_bytes(bytes(weights))
    compile_model(tmp_path / "ext.onnx", "ml_c5", BUNDLED_INPUT_CONFIG, tmp_path / "b", cache_dir=tmp_path / "c")
    assert tvm_backend.COMPILES == before + 2  # changed weights beside the model: not a cache hit

    inner = tmp_path / "inner"
    inner.mkdir()
    for t in model.graph.initializer:
        for entry in t.external_data:
            if entry.key == "location":
                entry.value = "../weights.bin"
    onnx.save(model, inner / "evil.onnx")
    with pytest.raises(CompileError, match="must be a file beside the model"):
        compile_model(inner / "evil.onnx", "ml_c5", BUNDLED_INPUT_CONFIG, tmp_path / "e", cache_dir=tmp_path / "c")


def test_input_dtype_dlr_cannot_carry_is_refused_before_compiling(tmp_path):
    import onnx
    from onnx import TensorProto, helper

    from harness.compile import tvm_backend

    graph = helper.make_graph([helper.make_node("Identity", ["x"], ["y"])], "u16",
                              [helper.make_tensor_value_info("x", TensorProto.UINT16, [1, 4])],
                              [helper.make_tensor_value_info("y", TensorProto.UINT16, [1, 4])])
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)]), tmp_path / "u16.onnx")
    before = tvm_backend.COMPILES
    with pytest.raises(CompileError, match="input 'x' has dtype uint16, which DLR cannot carry"):
        compile_model(tmp_path / "u16.onnx", "ml_c5", "[[1,4]]", tmp_path / "out", cache_dir=tmp_path / "c")
    assert tvm_backend.COMPILES == before
