"""Compile: the run's model compiles for every device's Neo target; InputConfig is checked; the cache is reused."""

from __future__ import annotations

from harness.artifact.elf import read_elf
from harness.artifact.meta import load_meta
from harness.compile.errors import InputConfigError


def test_model_compiles_for_the_device_target(device, artifact, artifacts, hil_record):
    meta = load_meta(artifact.directory)
    target = device.profile.neo_target
    hil_record.fact("neo_target", target)
    hil_record.fact("artifact_from", artifacts.origin[target])
    hil_record.fact("artifact", {"so_sha256": meta.files["compiled.so"].sha256,
                                 "compiler": meta.compiler.model_dump(mode="json"),
                                 "inputs": [i.model_dump(mode="json") for i in meta.inputs]})
    assert meta.target.neo == target
    assert meta.target.arch == device.profile.arch, f"{target} artifact is {meta.target.arch}"
    assert read_elf(artifact.library).arch == device.profile.arch  # the .so itself, not only its metadata
    assert meta.model.name == artifacts.model.path.stem


def test_wrong_input_config_is_refused_in_neo_words(device, artifacts, tmp_path):
    real = load_meta(artifacts.for_target(device.profile.neo_target).directory).inputs[0]
    wrong = {real.name: [*real.shape, 1]}  # one dimension too many: a rank mismatch
    try:
        artifacts.compile(device.profile.neo_target, tmp_path / "wrong", input_config=wrong)
    except InputConfigError as exc:
        text = str(exc)
    else:
        raise AssertionError(f"compiling with DataInputConfig {wrong} succeeded")
    assert "ClientError: InputConfiguration:" in text and f'"{real.name}"' in text and "rank" in text
    assert not (tmp_path / "wrong").exists()  # nothing half-written


def test_second_compile_reuses_the_cache(device, artifact, artifacts, tmp_path):
    builds = artifacts.builds
    again = artifacts.compile(device.profile.neo_target, tmp_path / "again")
    assert artifacts.builds == builds, "the second compile of the same model and target ran TVM again"
    assert again.library.read_bytes() == artifact.library.read_bytes()
