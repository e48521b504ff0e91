"""libdlr's C API contract beyond the happy path: call order, indices, devices, per-thread errors,
and dynamic-shape / multi-output models (backend "relayvm"). Children run everything that loads it.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from harness.compile import compile_model

pytestmark = pytest.mark.slow

MODEL = Path(__file__).resolve().parents[2] / "fixtures" / "model" / "tinycnn.onnx"

CAPI_CHILD = r"""
import ctypes, json, sys, threading
from ctypes import byref, c_bool, c_char_p, c_int, c_longlong, c_void_p, POINTER
lib = ctypes.CDLL(sys.argv[1])
lib.DLRGetLastError.restype = c_char_p
model = sys.argv[2].encode()
r = {}
def err():
    return lib.DLRGetLastError().decode("ascii")
h = c_void_p()
r["gpu"] = [lib.CreateDLRModel(byref(h), model, 2, 0), err()]
r["gpu_handle_untouched"] = h.value is None
r["delete_null"] = lib.DeleteDLRModel(byref(h))
assert lib.CreateDLRModel(byref(h), model, 1, 0) == 0, err()
n = c_int()
lib.GetDLRNumWeights(byref(h), byref(n)); r["weights"] = n.value
name = c_char_p()
r["weight_name"] = [lib.GetDLRWeightName(byref(h), 0, byref(name)), err()]
r["input_name_5"] = [lib.GetDLRInputName(byref(h), 5, byref(name)), err()]
r["output_type_neg"] = [lib.GetDLROutputType(byref(h), -1, byref(name)), err()]
size, dim = c_longlong(), c_int()
r["size_dim_before_run"] = [lib.GetDLROutputSizeDim(byref(h), 0, byref(size), byref(dim)), size.value, dim.value]
buf = (ctypes.c_float * (3 * 224 * 224))()
r["output_before_run"] = [lib.GetDLROutput(byref(h), 0, buf), err()]
r["input_before_set"] = [lib.GetDLRInput(byref(h), b"data", buf), err()]
r["run_before_set"] = [lib.RunDLRModel(byref(h)), err()]
flag = c_bool()
r["has_metadata"] = [lib.GetDLRHasMetadata(byref(h), byref(flag)), flag.value]
shape = (c_longlong * 4)(1, 3, 224, 224)
r["set_ndim_99"] = [lib.SetDLRInput(byref(h), b"data", shape, buf, 99), err()]
# errors are per thread: a failure in another thread leaves this thread's message alone
lib.GetDLRInputName(byref(h), 7, byref(name))
mine = err()
t = threading.Thread(target=lambda: lib.GetDLRInputName(byref(h), 9, byref(name)))
t.start(); t.join()
r["thread_local"] = [mine, err()]
r["delete"] = [lib.DeleteDLRModel(byref(h)), h.value]
print(json.dumps(r))
"""

DYNAMIC_CHILD = r"""
import json, sys
import numpy as np
import dlr
m = dlr.DLRModel(sys.argv[1], "cpu", 0)
r = {"backend": m._impl.backend, "outputs": m.get_output_names()}
for n in (3, 5):
    x = np.arange(n * 4, dtype="float32").reshape(n, 4)
    a, b = m.run({"x": x})
    r[str(n)] = [list(a.shape), list(b.shape), bool(np.array_equal(a, x + 1)), bool(np.array_equal(b, x * 2))]
print(json.dumps(r))
"""


def child(code: str, *args: str) -> dict:
    proc = subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True, timeout=120,
                          check=False)
    assert proc.returncode == 0, f"child died ({proc.returncode}): {proc.stderr[-2000:]}"
    return json.loads(proc.stdout.strip().splitlines()[-1])


def test_c_api_call_order_indices_devices_and_thread_local_errors(host_libdlr, tmp_path):
    compile_model(MODEL, {"Os": "LINUX", "Arch": "X86_64"}, {"data": [1, 3, 224, 224]}, tmp_path / "m")
    r = child(CAPI_CHILD, str(host_libdlr / "libdlr.so"), str(tmp_path / "m"))
    assert r["gpu"][0] == -1 and r["gpu"][1].startswith("device type 2 is not supported")
    assert r["gpu_handle_untouched"] is True and r["delete_null"] == 0
    assert r["weights"] == 0
    assert r["weight_name"] == [-1, "weight index 0 out of range: the model has 0 weights (they are compiled "
                                     "into compiled.so)"]
    assert r["input_name_5"] == [-1, "input index 5 out of range: the model has 1 input(s)"]
    assert r["output_type_neg"] == [-1, "output index -1 out of range: the model has 1 output(s)"]
    assert r["size_dim_before_run"] == [0, 10, 2]
    assert r["output_before_run"] == [-1, "no output yet: call RunDLRModel before GetDLROutput"]
    assert r["input_before_set"] == [-1, 'input "data" has not been set']
    assert r["run_before_set"][0] == -1 and r["run_before_set"][1].startswith('input "data" was not set')
    assert r["has_metadata"] == [0, True]
    assert r["set_ndim_99"] == [-1, 'input "data": invalid number of dimensions 99']
    assert r["thread_local"] == ["input index 7 out of range: the model has 1 input(s)"] * 2
    assert r["delete"] == [0, None]


def _dynamic_artifact(out: Path) -> Path:
    """A Relax function with a dynamic batch and two outputs, written as a harness artifact."""
    import tvm
    from tvm.script import ir as I  # noqa: N812
    from tvm.script import relax as R  # noqa: N812

    @I.ir_module
    class Module:
        @R.function
        def main(x: R.Tensor(("n", 4), "float32")):
            with R.dataflow():
                a = R.add(x, R.const(1.0, "float32"))
                b = R.multiply(x, R.const(2.0, "float32"))
                out = (a, b)
                R.output(out)
            return out

    out.mkdir()
    tvm.compile(Module, target=tvm.target.Target({"kind": "llvm"})).export_library(str(out / "compiled.so"))
    spec = {"shape": [-1, 4], "dtype": "float32"}
    meta = {"schema": "hil.neo-artifact/1", "inputs": [{"name": "x", **spec}],
            "outputs": [{"name": "plus_one", **spec}, {"name": "twice", **spec}],
            "target": {"arch": "x86_64", "neo": "LINUX_X86_64"}, "compiler": {"tvm": "0.27.0"},
            "runtime": {"dlr_abi": "tvm-0.27", "entry": "main"},
            "files": {"compiled.so": {"size": (out / "compiled.so").stat().st_size}}}
    (out / "compiled.meta").write_text(json.dumps(meta))
    return out


def test_dynamic_shapes_and_tuple_outputs_use_the_relayvm_protocol(host_libdlr, tmp_path):
    model = _dynamic_artifact(tmp_path / "dyn")
    for name in ("libdlr.so", "libtvm_runtime.so", "libtvm_ffi.so"):
        (model / name).write_bytes((host_libdlr / name).read_bytes())
    r = child(DYNAMIC_CHILD, str(model))
    assert r["backend"] == "relayvm" and r["outputs"] == ["plus_one", "twice"]
    assert r["3"] == [[3, 4], [3, 4], True, True]
    assert r["5"] == [[5, 4], [5, 4], True, True]
