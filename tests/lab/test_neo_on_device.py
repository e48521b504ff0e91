"""Offline Neo on the devices: the bundled model compiled per target, run by the unmodified PyPI `dlr` wrapper
on each core over SSH, against ONNX Runtime on the host; and the diagnoses when it must not run."""

from __future__ import annotations

import json
import re

import numpy as np
import onnxruntime as ort
import pytest
import yaml

from harness.compile.bundled import BUNDLED_MODEL, compile_bundled
from harness.lab.bringup import LabController
from harness.lab.device import DEVICE_PYTHON
from harness.lab.inventory import load_lab
from harness.preflight import run_preflight

RUN_TIMEOUT = 180.0  # python + numpy + the TVM runtime under qemu-user take a while to start

# Runs on the device: the same calls an application makes through the DLR Python API.
DLR_SCRIPT = """
import json, sys
import numpy as np
import dlr
model_dir = sys.argv[1]
x = np.load(model_dir + "/input.npy")
m = dlr.DLRModel(model_dir, "cpu", 0)
y = m.run({m.get_input_names()[0]: x})[0]
np.save(model_dir + "/output.npy", y)
print(json.dumps({"inputs": m.get_input_names(), "outputs": m.get_output_names(),
                  "dtypes": m.get_input_dtypes(), "version": m.get_version()}))
"""


def run_dlr(transport, artifact_dir, x, tmp_path, name):
    """Upload the artifact and input, run one inference with DLR on the device, fetch the output."""
    remote = f"/tmp/hil-neo/{name}"
    transport.check(["rm", "-rf", remote])
    transport.put_dir(artifact_dir, remote, timeout=60)
    np.save(tmp_path / "input.npy", x)
    transport.put(tmp_path / "input.npy", f"{remote}/input.npy")
    result = transport.run([DEVICE_PYTHON, "-c", DLR_SCRIPT, remote], timeout=RUN_TIMEOUT)
    if result.ok:
        transport.get(f"{remote}/output.npy", tmp_path / f"{name}-output.npy")
        return result, np.load(tmp_path / f"{name}-output.npy")
    return result, None


def reference(x):
    session = ort.InferenceSession(str(BUNDLED_MODEL), providers=["CPUExecutionProvider"])
    return session.run(None, {"data": x})[0]


@pytest.fixture(scope="module")
def batch():
    return np.random.default_rng(7).standard_normal((1, 3, 224, 224)).astype("float32")


def test_dlr_on_the_device_matches_onnx_runtime(device, compiled_model, batch, tmp_path):
    assert compiled_model.meta.target.arch == device.arch
    result, y = run_dlr(device.transport, compiled_model.directory, batch, tmp_path, device.profile.neo_target)
    assert result.ok, f"{device.name}: DLR failed: {result.stderr[-2000:]}"
    info = json.loads(result.stdout.strip().splitlines()[-1])
    assert info["inputs"] == ["data"] and info["dtypes"] == ["float32"]
    assert "tvm-0.27" in info["version"]
    want = reference(batch)
    assert y.shape == want.shape
    assert float(np.max(np.abs(y - want))) <= 1e-4
    assert int(np.argmax(y)) == int(np.argmax(want))


@pytest.mark.arch("x86_64")
def test_wrong_target_is_diagnosed_by_the_runtime_and_by_preflight(device, batch, tmp_path):
    rasp4b = compile_bundled("rasp4b", tmp_path / "compiled")
    result, _ = run_dlr(device.transport, rasp4b.directory, batch, tmp_path, "wrong-target")
    assert not result.ok
    assert "model compiled for aarch64 (rasp4b), this device is x86_64" in result.stderr
    verdicts = {v.check: v for v in run_preflight(rasp4b.meta, device.transport)}
    assert not verdicts["arch"].ok
    # recompile for what this device is: ml_c5 on an AVX-512 CPU, ml_c4 on an AVX2 one
    assert re.search(r"TargetDevice=ml_c[45]\b", verdicts["arch"].advice), verdicts["arch"].advice


@pytest.mark.arch("x86_64")
def test_input_shape_mismatch_is_diagnosed(device, compiled_model, tmp_path):
    small = np.zeros((1, 3, 112, 112), dtype="float32")
    result, _ = run_dlr(device.transport, compiled_model.directory, small, tmp_path, "shape")
    assert not result.ok
    assert 'input "data" has shape (1,3,112,112), model expects (1,3,224,224)' in result.stderr


def test_preflight_passes_for_the_right_artifact(device, compiled_model):
    verdicts = run_preflight(compiled_model.meta, device.transport)
    failed = [f"{v.check}: {v.reason}" for v in verdicts if not v.ok]
    assert not failed, f"{device.name}: {failed}"


@pytest.fixture
def old_runtime_core(tmp_path, lab):
    """A core whose DLR runs on TVM 0.26: the field's "DLR on the device does not match the compiler"."""
    lab_file = tmp_path / "mismatch.yaml"
    lab_file.write_text(yaml.safe_dump({"lab": "mismatch", "devices": [
        {"name": "old-dlr", "profile": "ml_c4", "emulated": True, "image": {"runtime": "tvm-0.26"}}]}))
    controller = LabController(load_lab(lab_file))
    controller.up()
    device = controller.device("old-dlr")
    yield device
    device.transport.close()
    controller.down()


def test_runtime_mismatch_is_real_and_diagnosed(old_runtime_core, batch, tmp_path):
    artifact = compile_bundled("ml_c4", tmp_path / "compiled")
    result, _ = run_dlr(old_runtime_core.transport, artifact.directory, batch, tmp_path, "mismatch")
    assert not result.ok
    assert "this runtime is TVM 0.26" in result.stderr
    verdicts = {v.check: v for v in run_preflight(artifact.meta, old_runtime_core.transport)}
    assert not verdicts["runtime"].ok and "0.27" in verdicts["runtime"].advice
