"""The rollback scenario's broken N+1 versions: one planted fault each, everything else as version N."""

from __future__ import annotations

from pathlib import Path

import pytest

from harness.greengrass import builders
from harness.lab.device import DEVICE_PYTHON
from harness.ondevice import component as inference_script
from harness.scenarios.conftest import scenario_model_of
from harness.scenarios.faults import FAULTS, MISSING_PYTHON, SYMPTOM, broken


@pytest.fixture
def inference(tmp_path: Path):
    model_dir = tmp_path / "artifact"
    model_dir.mkdir()
    (model_dir / "compiled.so").write_bytes(b"\x7fELF not really")
    model = builders.model_component("com.example.M-run1", "1.0.0", model_dir, tmp_path / "work")
    return builders.inference_component("com.example.I-run1", "1.0.0", model, Path(inference_script.__file__),
                                        inference_interval=2, topic="t/run1", image_directory="/tmp/i",
                                        image_name="a.png")


def lifecycle(component):
    return component.recipe.to_dict()["Manifests"][0]["Lifecycle"]


@pytest.mark.parametrize("fault", FAULTS)
def test_each_fault_is_a_new_version_of_the_same_component(inference, fault):
    update = broken(inference, fault, "/tmp/hil-rollback-run1")
    n, n1 = inference.recipe.to_dict(), update.recipe.to_dict()
    assert update.recipe.component_name == inference.recipe.component_name
    assert update.recipe.component_version > inference.recipe.component_version
    # same artifacts (digests re-sealed from the same files), same dependencies and configuration
    digests = [[a["Digest"] for a in r["Manifests"][0]["Artifacts"]] for r in (n, n1)]
    assert digests[0] == digests[1]
    assert all(f"/{update.recipe.component_version}/" in a["URI"] for a in n1["Manifests"][0]["Artifacts"])
    assert n1["ComponentDependencies"] == n["ComponentDependencies"]
    assert n1["ComponentConfiguration"] == n["ComponentConfiguration"]
    assert update.files == inference.files


def test_install_fault_needs_a_file_the_model_lacks(inference):
    steps = lifecycle(broken(inference, "install", "/w"))
    assert SYMPTOM["install"] in steps["Install"]["Script"] and steps["Run"] == lifecycle(inference)["Run"]


def test_run_fault_changes_only_the_interpreter(inference):
    before, after = lifecycle(inference)["Run"], lifecycle(broken(inference, "run", "/w"))["Run"]
    text = lambda step: step["Script"] if isinstance(step, dict) else step  # noqa: E731
    assert MISSING_PYTHON in text(after) and MISSING_PYTHON not in text(before)
    assert text(after).replace(MISSING_PYTHON, DEVICE_PYTHON) == text(before)


def test_health_fault_checks_in_startup_with_a_bound(inference):
    steps = lifecycle(broken(inference, "health", "/tmp/hil-rollback-run1"))
    assert "Run" not in steps and SYMPTOM["health"] in steps["Startup"]["Script"]
    assert steps["Startup"]["Timeout"] > 0 and "inference.pid" in steps["Shutdown"]["Script"]
    assert steps["Setenv"]["HIL_IMAGE_DIR"] == "/tmp/hil-rollback-run1/empty"


def test_an_unknown_fault_is_refused(inference):
    with pytest.raises(ValueError, match="unknown fault 'disk'; faults: install, run, health"):
        broken(inference, "disk", "/w")


class Options:
    def __init__(self, **values):
        self.values = values

    def getoption(self, name):
        return self.values.get(name)


def test_model_options(tmp_path):
    from harness.models.catalog import blazeface_model

    default = scenario_model_of(Options())
    assert default.detector and default.path == blazeface_model()
    assert default.input_config == {"input": [1, 128, 128, 3]}
    assert scenario_model_of(Options(**{"--model": "tinycnn"})).bundled
    model = tmp_path / "m.onnx"
    model.write_bytes(b"onnx")
    chosen = scenario_model_of(Options(**{"--model": model, "--input-config": '{"x": [1, 3]}'}))
    assert chosen.path == model.resolve() and chosen.input_config == {"x": [1, 3]} and not chosen.bundled
    for options, message in (({"--input-config": "{}"}, "--input-config needs --model"),
                             ({"--model": "tinycnn", "--input-config": "{}"}, "a shipped workload has its own"),
                             ({"--model": model}, "--model needs --input-config"),
                             ({"--model": tmp_path / "no.onnx", "--input-config": "{}"}, "no such file"),
                             ({"--model": model, "--input-config": '{"x": [0]}'}, "--input-config: ClientError")):
        with pytest.raises(pytest.UsageError, match=message):
            scenario_model_of(Options(**options))


def test_reference_model_options(tmp_path):
    from harness.scenarios.conftest import reference_model_of

    thresholds = {"--max-latency-ratio": 1.1, "--max-memory-ratio": 1.1, "--min-agreement": 1.0}
    new, old = tmp_path / "new.onnx", tmp_path / "old.onnx"
    new.write_bytes(b"onnx")
    old.write_bytes(b"onnx")
    base = {"--model": new, "--input-config": '{"x": [1, 3]}', **thresholds}
    assert reference_model_of(Options(**base)) is None
    ref = reference_model_of(Options(**base, **{"--reference-model": old}))
    assert ref.path == old.resolve() and ref.input_config == {"x": [1, 3]}  # the --model's config by default
    own = reference_model_of(Options(**base, **{"--reference-model": old, "--reference-input-config": '{"y": [2]}'}))
    assert own.input_config == {"y": [2]}
    assert reference_model_of(Options(**base, **{"--reference-model": "tinycnn"})).bundled
    for options, message in (({"--reference-input-config": "{}"}, "--reference-input-config needs --reference-model"),
                             ({"--reference-model": tmp_path / "gone.onnx"}, "--reference-model .*: no such file"),
                             ({"--reference-model": "tinycnn", "--reference-input-config": "{}"},
                              "a shipped workload has its own"),
                             ({"--reference-model": old, "--min-agreement": 2.0}, "min_agreement 2.0"),
                             ({"--reference-model": old, "--max-latency-ratio": 0.0}, "a ratio must be above 0")):
        with pytest.raises(pytest.UsageError, match=message):
            reference_model_of(Options(**{**base, **options}))
