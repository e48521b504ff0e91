"""Offline Neo on the devices: the bundled model compiled per target, run by the unmodified PyPI `dlr` wrapper
on each core over SSH, against ONNX Runtime on the host; and the diagnoses when it must not run."""

from __future__ import annotations

import json
import re

import numpy as np
import onnxruntime as ort
import pytest
import yaml

from harness.compile.bundled import BUNDLED_MODEL, INPUT_DTYPE, INPUT_NAME, INPUT_SHAPE, compile_bundled
from harness.lab.bringup import LabController
from harness.lab.device import DEVICE_PYTHON
from harness.lab.inventory import load_lab
from harness.preflight import run_preflight
from harness.primitives.scratch import scratch_dir
from harness.ship import ship

RUN_TIMEOUT = 180.0  # python + numpy + the TVM runtime under qemu-user take a while to start

def run_dlr(transport, artifact_dir, x, tmp_path, name):
    """Upload the artifact and input, run one inference with DLR on the device (harness/ondevice/dlr_run.py).

    Returns the command's result, the model's description and the output (None when DLR failed).
    """
    np.savez(tmp_path / f"{name}.npz", **{f"batch/{INPUT_NAME}": x})
    code = ship(transport)
    with scratch_dir(transport, "neo") as remote:
        transport.put_dir(artifact_dir, f"{remote}/model", timeout=60)
        transport.put(tmp_path / f"{name}.npz", f"{remote}/feeds.npz")
        result = transport.run(code.argv(DEVICE_PYTHON, "dlr_run", f"{remote}/model", "--feeds", f"{remote}/feeds.npz"),
                               timeout=RUN_TIMEOUT)
    if not result.ok:
        return result, None, None
    info = json.loads(result.stdout.strip().splitlines()[-1])
    out = info["results"]["batch"]
    return result, info, np.asarray(out["values"], dtype="float32").reshape(out["shape"])


def reference(x):
    session = ort.InferenceSession(str(BUNDLED_MODEL), providers=["CPUExecutionProvider"])
    return session.run(None, {INPUT_NAME: x})[0]


@pytest.fixture(scope="module")
def batch():
    return np.random.default_rng(7).standard_normal(INPUT_SHAPE).astype(INPUT_DTYPE)


def test_dlr_on_the_device_matches_onnx_runtime(device, compiled_model, batch, tmp_path):
    assert compiled_model.meta.target.arch == device.arch
    result, info, y = run_dlr(device.transport, compiled_model.directory, batch, tmp_path, device.profile.neo_target)
    assert result.ok, f"{device.name}: DLR failed: {result.stderr[-2000:]}"
    assert info["inputs"] == [INPUT_NAME] and info["dtypes"] == [INPUT_DTYPE]
    assert "tvm-0.27" in info["version"]
    want = reference(batch)
    assert y.shape == want.shape
    assert float(np.max(np.abs(y - want))) <= 1e-4
    assert int(np.argmax(y)) == int(np.argmax(want))


@pytest.mark.arch("x86_64")
def test_wrong_target_is_diagnosed_by_the_runtime_and_by_preflight(device, batch, tmp_path):
    rasp4b = compile_bundled("rasp4b", tmp_path / "compiled")
    result, _, _ = run_dlr(device.transport, rasp4b.directory, batch, tmp_path, "wrong-target")
    assert not result.ok
    assert "model compiled for aarch64 (rasp4b), this device is x86_64" in result.stderr
    verdicts = {v.check: v for v in run_preflight(rasp4b.meta, device.transport)}
    assert not verdicts["arch"].ok
    # recompile for what this device is: ml_c5 on an AVX-512 CPU, ml_c4 on an AVX2 one
    assert re.search(r"TargetDevice=ml_c[45]\b", verdicts["arch"].advice), verdicts["arch"].advice


@pytest.mark.arch("x86_64")
def test_input_shape_mismatch_is_diagnosed(device, compiled_model, tmp_path):
    small = np.zeros((1, 3, 112, 112), dtype="float32")
    result, _, _ = run_dlr(device.transport, compiled_model.directory, small, tmp_path, "shape")
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
    result, _, _ = run_dlr(old_runtime_core.transport, artifact.directory, batch, tmp_path, "mismatch")
    assert not result.ok
    assert "this runtime is TVM 0.26" in result.stderr
    verdicts = {v.check: v for v in run_preflight(artifact.meta, old_runtime_core.transport)}
    assert not verdicts["runtime"].ok and "0.27" in verdicts["runtime"].advice
