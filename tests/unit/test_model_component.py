"""The generic model component's inputs: the host's seeded rule reproduced on the device, and the
inputs .npz the host ships (keys '<set>/<input name>', labels), checked against compiled.meta."""

from __future__ import annotations

import numpy as np
import pytest

from harness.greengrass import builders
from harness.models.samples import InputSpec, random_inputs
from harness.ondevice import model_component
from harness.ship import component_artifacts

SPECS = [{"name": "sensor:0", "shape": [1, 256], "dtype": "float32"},
         {"name": "window/ids", "shape": [2, 3], "dtype": "int64"},
         {"name": "mask", "shape": [4], "dtype": "bool"}]


def test_device_seeded_inputs_equal_the_hosts():
    host = random_inputs([InputSpec(s["name"], tuple(s["shape"]), s["dtype"]) for s in SPECS], seed=3)
    device = model_component.random_inputs(SPECS, 3)
    assert list(device) == list(host)
    for name in host:
        np.testing.assert_array_equal(device[name], host[name])
        assert device[name].dtype == host[name].dtype


def test_input_sets_round_trip_with_names_holding_slashes_and_colons(tmp_path):
    sets = [model_component.random_inputs(SPECS, seed) for seed in (0, 1)]
    np.savez(tmp_path / "inputs.npz", labels=np.array(["a.png", "seed 1"]),
             **{f"{i}/{n}": a for i, s in enumerate(sets) for n, a in s.items()})
    read = model_component.read_input_sets(tmp_path / "inputs.npz", SPECS)
    assert [label for label, _ in read] == ["a.png", "seed 1"]
    for (_, got), want in zip(read, sets, strict=True):
        assert list(got) == [s["name"] for s in SPECS]
        for name in want:
            np.testing.assert_array_equal(got[name], want[name])


def test_a_mis_shaped_input_set_names_the_input(tmp_path):
    arrays = model_component.random_inputs(SPECS, 0)
    arrays["sensor:0"] = np.zeros((1, 128), np.float32)
    np.savez(tmp_path / "inputs.npz", **{f"0/{n}": a for n, a in arrays.items()})
    with pytest.raises(ValueError, match=r"input 'sensor:0' is float32\[1, 128\], the model takes float32\[1, 256\]"):
        model_component.read_input_sets(tmp_path / "inputs.npz", SPECS)


def test_the_recipe_ships_the_inputs_file_and_passes_it_to_the_script(tmp_path):
    (tmp_path / "m").mkdir()
    (tmp_path / "m" / "compiled.meta").write_text("{}")
    model = builders.model_component("com.example.M", "1.0.0", tmp_path / "m", tmp_path / "w")
    np.savez(tmp_path / "inputs.npz", **{"0/x": np.zeros(2, np.float32)})
    script, siblings = component_artifacts("model_component")
    component = builders.model_inference_component("com.example.I", "1.0.0", model, script, extra_files=siblings,
                                                   inputs_file=tmp_path / "inputs.npz", seed=5)
    lifecycle = component.recipe.to_dict()["Manifests"][0]["Lifecycle"]
    assert lifecycle["Setenv"]["HIL_INPUTS_FILE"] == "{artifacts:path}/inputs.npz"
    assert "model_component.py" in lifecycle["Run"]["Script"]
    assert lifecycle["Run"]["Script"].endswith('--inputs "$HIL_INPUTS_FILE" --seed "$HIL_INPUT_SEED"')
    assert component.files["inputs.npz"] == tmp_path / "inputs.npz"
    assert component.recipe.to_dict()["ComponentConfiguration"]["DefaultConfiguration"]["InputSeed"] == "5"
