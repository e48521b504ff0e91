"""The project's libdlr under the unmodified PyPI dlr wrapper: real TVM, real artifacts, real wrapper.

Everything that loads libdlr runs in a child process, so a crash fails one test instead of pytest.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from harness.artifact.elf import read_elf
from harness.compile import compile_model
from harness.lab.paths import SOURCE_ROOT
from harness.runtime.build import build_libdlr
from harness.runtime.probe import probe_command, run_probe
from harness.runtime.wheels import RuntimeBuildError

pytestmark = pytest.mark.slow

MODEL = SOURCE_ROOT / "fixtures" / "model" / "tinycnn.onnx"
SHAPE = (1, 3, 224, 224)
X86 = {"Os": "LINUX", "Arch": "X86_64"}
TIMEOUT = 120

# The child: the dlr wrapper exactly as a user calls it; prints one JSON line.
CHILD = r"""
import json, sys
import numpy as np
import dlr
model_dir, input_path = sys.argv[1], sys.argv[2]
try:
    m = dlr.DLRModel(model_dir, "cpu", 0)
    info = {"inputs": m.get_input_names(), "outputs": m.get_output_names(),
            "dtypes": m.get_input_dtypes(), "version": m.get_version(), "backend": m._impl.backend,
            "has_metadata": m.has_metadata(), "lib": m._impl._lib._name}
    x = np.load(input_path)
    outs = m.run({"data": x})
    info["result"] = [o.tolist() for o in outs]
    info["result_shapes"] = [list(o.shape) for o in outs]
    info["input_roundtrip"] = bool(np.array_equal(m.get_input("data"), x))
    print(json.dumps(info))
except Exception as e:
    print(json.dumps({"error": type(e).__name__, "message": str(e)}))
"""


def run_wrapper(model_dir: Path, x: np.ndarray, tmp: Path) -> dict:
    np.save(tmp / "input.npy", x)
    proc = subprocess.run([sys.executable, "-c", CHILD, str(model_dir), str(tmp / "input.npy")],
                          capture_output=True, text=True, timeout=TIMEOUT, check=False)
    assert proc.returncode == 0, f"child died ({proc.returncode}): {proc.stderr[-2000:]}"
    return json.loads(proc.stdout.strip().splitlines()[-1])


@pytest.fixture(scope="module")
def x86_artifact(tmp_path_factory, host_libdlr) -> Path:
    """tinycnn for generic x86_64, with this build of libdlr bundled (the wrapper prefers it)."""
    out = tmp_path_factory.mktemp("tinycnn-x86_64")
    compile_model(MODEL, X86, {"data": list(SHAPE)}, out, runtime_libs=[host_libdlr / n for n in
                  ("libdlr.so", "libtvm_runtime.so", "libtvm_ffi.so")])
    return out


@pytest.fixture(scope="module")
def aarch64_artifact(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("tinycnn-rasp4b")
    compile_model(MODEL, "rasp4b", {"data": list(SHAPE)}, out)
    return out


def variant(src: Path, dest: Path, libdlr: Path, **meta_changes) -> Path:
    """A copy of artifact ``src`` with ``libdlr``'s build bundled and compiled.meta fields changed."""
    shutil.copytree(src, dest)
    for name in ("libdlr.so", "libtvm_runtime.so", "libtvm_ffi.so"):
        shutil.copy2(libdlr / name, dest / name)
    meta = json.loads((dest / "compiled.meta").read_text())
    for dotted, value in meta_changes.items():
        *parents, leaf = dotted.split("__")
        node = meta
        for p in parents:
            node = node[p]
        node[leaf] = value
    (dest / "compiled.meta").write_text(json.dumps(meta))
    return dest


def sample() -> np.ndarray:
    return np.random.default_rng(7).standard_normal(SHAPE).astype("float32")


def test_wrapper_runs_tinycnn_like_onnxruntime(x86_artifact, tmp_path):
    import onnxruntime as ort

    x = sample()
    got = run_wrapper(x86_artifact, x, tmp_path)
    assert "error" not in got, got
    assert got["lib"] == str(x86_artifact / "libdlr.so")
    assert got["inputs"] == ["data"] and got["outputs"] == ["output0"] and got["dtypes"] == ["float32"]
    assert got["version"] == "1.10.0+tvm-0.27.0"
    assert got["backend"] == "tvm" and got["has_metadata"] is True
    assert got["result_shapes"] == [[1, 10]] and got["input_roundtrip"] is True
    want = ort.InferenceSession(str(MODEL), providers=["CPUExecutionProvider"]).run(None, {"data": x})[0]
    dlr_out = np.array(got["result"][0], dtype="float32")
    assert np.max(np.abs(dlr_out - want)) <= 1e-4
    assert int(dlr_out.argmax()) == int(want.argmax())


def test_wrong_input_shape_is_diagnosed(x86_artifact, tmp_path):
    got = run_wrapper(x86_artifact, np.zeros((1, 3, 112, 112), "float32"), tmp_path)
    assert got["error"] == "DLRError"
    assert got["message"].startswith('input "data" has shape (1,3,112,112), model expects (1,3,224,224)')


def test_aarch64_artifact_is_diagnosed_before_loading(aarch64_artifact, host_libdlr, tmp_path):
    model = variant(aarch64_artifact, tmp_path / "m", host_libdlr)
    got = run_wrapper(model, sample(), tmp_path)
    assert got["error"] == "DLRError"
    assert got["message"].startswith("model compiled for aarch64 (rasp4b), this device is x86_64")


def test_meta_lying_about_arch_is_caught_by_the_elf_header(aarch64_artifact, host_libdlr, tmp_path):
    model = variant(aarch64_artifact, tmp_path / "m", host_libdlr, target__arch="x86_64")
    got = run_wrapper(model, sample(), tmp_path)
    assert got["error"] == "DLRError"
    assert got["message"].startswith("compiled.so is an EM_AARCH64 (aarch64) shared object, this device is x86_64")


def test_runtime_abi_in_meta_is_checked(x86_artifact, host_libdlr, tmp_path):
    model = variant(x86_artifact, tmp_path / "m", host_libdlr, runtime__dlr_abi="tvm-0.26",
                    compiler__tvm="0.26.0")
    got = run_wrapper(model, sample(), tmp_path)
    assert got["message"].startswith(
        "model compiled with TVM 0.26.0 / needs runtime ABI tvm-0.26, this runtime is TVM 0.27.0")


def test_tvm_026_runtime_refuses_a_027_artifact(x86_artifact, tmp_path):
    """A core whose DLR lags the compiler: the 0.26 runtime itself gives the diagnosis."""
    old = build_libdlr("x86_64", "tvm-0.26", tmp_path / "lib026").parent
    model = variant(x86_artifact, tmp_path / "m", old)
    compiled_with = json.loads((model / "compiled.meta").read_text())["compiler"]["tvm"]
    got = run_wrapper(model, sample(), tmp_path)
    assert got["error"] == "DLRError"
    assert got["message"].startswith(
        f"model compiled with TVM {compiled_with} / needs runtime ABI tvm-0.27, this runtime is TVM 0.26.0")


@pytest.mark.parametrize("content, expect", [
    (None, "compiled.meta not found in "),
    ("{not json", "is not valid JSON"),
    ('{"schema": "hil.neo-artifact/2"}', 'schema must be "hil.neo-artifact/1"'),
])
def test_bad_compiled_meta_is_diagnosed(x86_artifact, host_libdlr, tmp_path, content, expect):
    model = variant(x86_artifact, tmp_path / "m", host_libdlr)
    if content is None:
        (model / "compiled.meta").unlink()
    else:
        (model / "compiled.meta").write_text(content)
    got = run_wrapper(model, sample(), tmp_path)
    assert got["error"] == "DLRError" and expect in got["message"]


def test_truncated_compiled_so_is_diagnosed(x86_artifact, host_libdlr, tmp_path):
    model = variant(x86_artifact, tmp_path / "m", host_libdlr)
    data = (model / "compiled.so").read_bytes()
    (model / "compiled.so").write_bytes(data[: len(data) // 2])
    got = run_wrapper(model, sample(), tmp_path)
    assert "the artifact was truncated or replaced" in got["message"]


def test_unknown_input_name_lists_the_known_ones(x86_artifact):
    """The wrapper checks names itself; the C API answers callers that do not (the probe, C users)."""
    with pytest.raises(RuntimeBuildError) as err:
        run_probe("x86_64", x86_artifact, {"image": SHAPE})
    assert 'SetDLRInput: unknown input "image"; the model\'s inputs are "data"' in str(err.value)


def test_aarch64_build_links_and_runs_under_qemu(aarch64_artifact, x86_artifact, tmp_path):
    lib = build_libdlr("aarch64", "tvm-0.27", tmp_path / "a64", probe=True).parent
    for name in ("libdlr.so", "libtvm_runtime.so", "libtvm_ffi.so", "dlr_probe"):
        assert read_elf(lib / name).machine == "EM_AARCH64", name
    # dlr_probe was linked with --no-allow-shlib-undefined: every symbol resolved against the
    # aarch64 libtvm_runtime/libtvm_ffi and Debian's aarch64 libc/libstdc++
    try:
        probe_command("aarch64", lib / "dlr_probe")
    except RuntimeBuildError as e:
        pytest.skip(f"cannot execute aarch64 code here: {e}")
    want = run_probe("x86_64", x86_artifact, {"data": SHAPE})["output0"]
    got = run_probe("aarch64", aarch64_artifact, {"data": SHAPE})
    assert got["version"] == "1.10.0+tvm-0.27.0" and len(got["output0"]) == 10
    assert np.max(np.abs(np.array(got["output0"]) - np.array(want))) <= 1e-4
