"""Digests, reproducible ZIPs, the recipes/ + artifacts/ layout, and the DLR component builders."""

from __future__ import annotations

import base64
import hashlib
import os
import zipfile

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from harness.greengrass import builders
from harness.greengrass.artifacts import (
    Component,
    greengrass_digest,
    hex_to_greengrass,
    store_entries,
    write_store,
    zip_directory,
)
from harness.greengrass.errors import ComponentArtifactError
from harness.greengrass.recipe import load_recipe, parse_recipe, read_recipe
from harness.lab.device import DEVICE_PYTHON


@pytest.fixture
def model_dir(tmp_path):
    d = tmp_path / "neo-out"
    (d / "lib").mkdir(parents=True)
    (d / "compiled.so").write_bytes(b"\x7fELF" + bytes(range(256)) * 8)
    (d / "compiled.meta").write_text('{"Model": {"Inputs": [{"name": "input", "shape": [1, 3, 224, 224]}]}}')
    (d / "lib" / "libdlr.so").write_bytes(b"\x7fELF-runtime")
    return d


@pytest.fixture
def script(tmp_path):
    s = tmp_path / "infer.sh"
    s.write_text("#!/bin/sh\necho \"inference on $HIL_MODEL_DIR\"\n")
    return s


def test_digest_is_base64_sha256_like_greengrass(tmp_path):
    f = tmp_path / "a.bin"
    f.write_bytes(b"")
    assert greengrass_digest(f) == "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU="  # SHA-256 of nothing
    f.write_bytes(b"edge" * 10000)
    hexdigest = hashlib.sha256(b"edge" * 10000).hexdigest()
    assert greengrass_digest(f) == base64.b64encode(bytes.fromhex(hexdigest)).decode() == hex_to_greengrass(hexdigest)
    assert len(greengrass_digest(f)) == 44


def test_zip_is_reproducible_and_rooted(model_dir, tmp_path):
    a = zip_directory(model_dir, tmp_path / "a" / "model.zip")
    os.utime(model_dir / "compiled.so", (1, 1))
    b = zip_directory(model_dir, tmp_path / "b" / "model.zip")
    assert a.read_bytes() == b.read_bytes()
    with zipfile.ZipFile(a) as zf:
        assert zf.namelist() == ["compiled.meta", "compiled.so", "lib/libdlr.so"]
        assert zf.read("compiled.so") == (model_dir / "compiled.so").read_bytes()


def test_zip_refuses_symlinks_and_empty_dirs(model_dir, tmp_path):
    (model_dir / "escape").symlink_to("/etc/passwd")
    with pytest.raises(ComponentArtifactError, match="symlink"):
        zip_directory(model_dir, tmp_path / "m.zip")
    (tmp_path / "empty").mkdir()
    with pytest.raises(ComponentArtifactError, match="empty"):
        zip_directory(tmp_path / "empty", tmp_path / "e.zip")


def test_model_and_inference_components_validate_and_round_trip(model_dir, script, tmp_path):
    model = builders.model_component("com.example.Model", "1.0.1", model_dir, tmp_path / "build",
                                     architecture="aarch64")
    infer = builders.inference_component("com.example.Infer", "1.0.0", model, script, interpreter="/bin/sh",
                                         inference_interval=5)
    for comp in (model, infer):
        assert load_recipe(comp.recipe.to_yaml()) == comp.recipe
        assert load_recipe(comp.recipe.to_json()) == comp.recipe
        for name, path in comp.files.items():
            arts = [a for m in comp.recipe.manifests for a in m.artifacts if a.file_name == name]
            assert arts[0].digest == greengrass_digest(path) and arts[0].algorithm == "SHA-256"
    art = model.recipe.manifests[0].artifacts[0]
    assert (art.file_name, art.unarchive) == ("model.zip", "ZIP")
    assert model.recipe.manifests[0].platform == {"os": "linux", "architecture": "aarch64"}
    dep = infer.recipe.component_dependencies["com.example.Model"]
    assert (dep.version_requirement, dep.dependency_type) == ("=1.0.1", "HARD")
    config = infer.recipe.default_configuration
    assert config["PublishResultsOnTopic"] == "ml/dlr/image-classification"
    assert (config["InferenceInterval"], config["Accelerator"]) == ("5", "cpu")
    lifecycle = infer.recipe.manifests[0].lifecycle
    assert lifecycle["Setenv"]["HIL_MODEL_DIR"] == "{com.example.Model:artifacts:decompressedPath}/model"
    assert "{configuration:" not in lifecycle["Run"]["Script"]  # config reaches the script via Setenv only
    assert "exec /bin/sh {artifacts:path}/infer.sh" in lifecycle["Run"]["Script"]
    default_python = builders.inference_component("com.example.Infer", "1.0.0", model, script)
    assert f"exec {DEVICE_PYTHON} " in default_python.recipe.manifests[0].lifecycle["Run"]["Script"]


@pytest.mark.parametrize("kwargs, words", [
    ({"accelerator": "tpu"}, "Accelerator"),
    ({"interpreter": "python3"}, "absolute path"),
    ({"interpreter": "/bin/sh; rm -rf /"}, "shell characters"),
    ({"inference_interval": 0}, "InferenceInterval"),
    ({"architecture": "sparc"}, "architecture"),
])
def test_inference_builder_rejects_bad_arguments(model_dir, script, tmp_path, kwargs, words):
    model = builders.model_component("com.example.Model", "1.0.0", model_dir, tmp_path / "b")
    with pytest.raises(ValueError, match=words):
        builders.inference_component("com.example.Infer", "1.0.0", model, script, **kwargs)


def test_write_store_layout_matches_greengrass_cli(model_dir, script, tmp_path):
    model = builders.model_component("com.example.Model", "1.0.0", model_dir, tmp_path / "build")
    infer = builders.inference_component("com.example.Infer", "2.0.0", model, script)
    recipe_dir, artifact_dir = write_store([model, infer], tmp_path / "store")
    assert sorted(p.name for p in recipe_dir.iterdir()) == ["com.example.Infer-2.0.0.yaml",
                                                             "com.example.Model-1.0.0.yaml"]
    assert (artifact_dir / "com.example.Model" / "1.0.0" / "model.zip").read_bytes() == \
        model.files["model.zip"].read_bytes()
    assert (artifact_dir / "com.example.Infer" / "2.0.0" / "infer.sh").read_text() == script.read_text()
    assert read_recipe(recipe_dir / "com.example.Infer-2.0.0.yaml") == infer.recipe


def test_sealing_checks_files_against_recipe(tmp_path, script):
    recipe = parse_recipe({"RecipeFormatVersion": "2020-01-25", "ComponentName": "c", "ComponentVersion": "1.0.0",
                           "Manifests": [{"Artifacts": [{"URI": "s3://b/infer.sh"}]}]})
    with pytest.raises(ComponentArtifactError, match="no file for \\['infer.sh'\\]"):
        Component(recipe, {}).sealed()
    with pytest.raises(ComponentArtifactError, match="no artifact for \\['x.bin'\\]"):
        Component(recipe, {"infer.sh": script, "x.bin": script}).sealed()
    sealed = Component(recipe, {"infer.sh": script}).sealed()
    script.write_text("changed after sealing\n")
    with pytest.raises(ComponentArtifactError, match="does not match the recipe's Digest"):
        sealed.sealed()
    with pytest.raises(ComponentArtifactError, match="given twice"):
        store_entries([Component(recipe, {"infer.sh": script})] * 2)


def test_unique_names_per_run_and_worker(monkeypatch):
    assert builders.unique_name("com.example.Model", "abc123") == "com.example.Model-abc123"
    with pytest.raises(ValueError):
        builders.unique_name("com.example.Model", "a-b")
    with pytest.raises(ValueError):
        builders.unique_name("x" * 125, "abcdef")
    monkeypatch.setattr(builders, "_process_run_id", None)
    monkeypatch.setenv("HIL_RUN_ID", "nightly-42")
    monkeypatch.setenv("PYTEST_XDIST_WORKER", "gw3")
    assert builders.run_id() == "nightly42gw3"
    assert builders.unique_name("com.example.Model") == "com.example.Model-nightly42gw3"


names = st.from_regex(r"[A-Za-z0-9][A-Za-z0-9._-]{0,40}", fullmatch=True)
versions = st.tuples(st.integers(0, 999), st.integers(0, 999), st.integers(0, 999),
                     st.sampled_from(["", "-rc.1", "-beta", "+build.5"])).map(lambda t: f"{t[0]}.{t[1]}.{t[2]}{t[3]}")


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(names, names, versions, st.sampled_from([None, *builders.ARCHITECTURES]), st.integers(1, 10**6))
def test_builders_always_produce_valid_round_tripping_recipes(model_dir, script, tmp_path, model_name, infer_name,
                                                              version, arch, interval):
    if model_name == infer_name:
        infer_name += "-infer"
    model = builders.model_component(model_name, version, model_dir, tmp_path / "b", architecture=arch)
    infer = builders.inference_component(infer_name, version, model, script, architecture=arch,
                                         inference_interval=interval)
    for comp in (model, infer):
        assert load_recipe(comp.recipe.to_yaml(), source="built") == comp.recipe
    assert infer.recipe.component_dependencies[model_name].version_requirement == f"={version}"
