"""Models nobody here wrote go through deploy, inference and rollback (`hil run --model M --input-config ...`):
a non-image model with one 2-D input, a model with two inputs, a 1000-class classifier whose input is not
named `data`, a dynamic-shape export bound by DataInputConfig, and MediaPipe's BlazeFace TFLite detector.

Each is one `hil run` restricted to one core and the deploy/inference/rollback scenarios, so a run stays
bounded; every device output is checked against the same model run on the host (ONNX Runtime or LiteRT).
Measured on ml-c4-emu: 56 s for the first model (every rollback fault), 43-67 s for each other one
(first compile included).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests import any_models

RUN_TIMEOUT = 1800
SCENARIOS = "test_deploy or test_inference or test_rollback"
#: The rollback faults (install, run, health) are the component's, not the model's: the first model goes
#: through all three, the others through the run fault, whose check after the rollback is the model's own
#: (its outputs against the host reference); that saves about 15 s per model.
ONE_FAULT = "test_deploy or test_inference or (test_rollback and not install and not health)"
#: Tests that apply only to another framework skip, saying why; these are the ones allowed to (LiteRT also
#: skips on a core image without ai-edge-litert, saying so).
FRAMEWORK_ONLY = {"tflite": ("test_onnxruntime_on_the_device", "test_litert_on_the_device"),
                  "onnx": ("test_litert_on_the_device",)}


def _blazeface(tmp: Path) -> tuple[Path, dict]:
    from harness.models.catalog import blazeface_workload

    workload = blazeface_workload()
    return workload.model, workload.input_config


MODELS = {
    "vibration-2d": lambda tmp: (any_models.vibration(tmp / "sensor.onnx"), {"vibration": [1, 256]}),
    "two-inputs": lambda tmp: (any_models.two_inputs(tmp / "fusion.onnx"), {"accel": [1, 16], "features": [1, 8]}),
    "classifier-1000": lambda tmp: (any_models.classifier_1000(tmp / "mobilenet_like.onnx"),
                                    {"input": [1, 3, 224, 224]}),
    "dynamic-batch": lambda tmp: (any_models.dynamic_batch(tmp / "exported.onnx"), {"x": [1, 3, 8, 8]}),
}
# BlazeFace (.tflite) is the default workload: the main job (`hil run`, ./dev test's last step) takes it through
# the same scenarios on both cores, so it is not run a second time here.


def hil_run(model: Path, input_config: dict, device: str, tmp_path: Path,
            selection: str = SCENARIOS) -> tuple[subprocess.CompletedProcess, list[dict]]:
    run = subprocess.run(
        [sys.executable, "-m", "harness.cli", "run", "--model", str(model), "--input-config", json.dumps(input_config),
         "--reports", str(tmp_path / "reports"), "--", "--device", device, "-k", selection],
        capture_output=True, text=True, timeout=RUN_TIMEOUT, env=dict(os.environ), cwd=Path(__file__).parents[2])
    found = sorted((tmp_path / "reports").glob("*/results.json"))
    tests = [t for r in json.loads(found[-1].read_text())["records"] for t in r["tests"]] if found else []
    return run, tests


#: The arm64 core runs under qemu (about 3 minutes a model): every night, not in CI.
CORES = ["ml-c4-emu", pytest.param("rasp4b-emu", marks=pytest.mark.nightly)]


@pytest.mark.parametrize("core", CORES)
@pytest.mark.parametrize("name", MODELS)
def test_a_users_model_deploys_infers_and_rolls_back(name, core, tmp_path):
    model, input_config = MODELS[name](tmp_path)
    every_fault = name == next(iter(MODELS))
    run, tests = hil_run(model, input_config, core, tmp_path, SCENARIOS if every_fault else ONE_FAULT)
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    by_status: dict[str, list[str]] = {}
    for t in tests:
        by_status.setdefault(t["status"], []).append(t["nodeid"])
    framework = "tflite" if model.suffix == ".tflite" else "onnx"
    allowed = FRAMEWORK_ONLY.get(framework, ())
    skipped = [n for n in by_status.get("skipped", []) if not any(a in n for a in allowed)]
    assert not skipped, f"skipped for this model: {skipped}"
    passed = by_status.get("passed", [])
    for scenario in ("test_deploy.py", "test_inference.py", "test_rollback.py"):
        assert any(scenario in n for n in passed), f"no {scenario} test passed: {by_status}"
    assert sum("test_rollback.py" in n for n in passed) == (3 if every_fault else 1)  # install, run, health faults
