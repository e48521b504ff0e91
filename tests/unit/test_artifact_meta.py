"""compiled.meta validation: the contract with libdlr, fuzzed (any bytes → ArtifactError or a valid model)."""

from __future__ import annotations

import copy
import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from harness.artifact.meta import ArtifactError, ArtifactMeta, parse_meta

VALID = {
    "schema": "hil.neo-artifact/1",
    "model": {"name": "tinycnn", "framework": "onnx", "sha256": "a" * 64},
    "inputs": [{"name": "data", "shape": [1, 3, 224, 224], "dtype": "float32"}],
    "outputs": [{"name": "output0", "shape": [1, 10], "dtype": "float32"}],
    "target": {"neo": "rasp4b", "tvm": {"kind": "llvm", "mtriple": "aarch64-linux-gnu", "mcpu": "cortex-a72",
                                        "mattr": ["+neon"]},
               "arch": "aarch64", "elf_machine": "EM_AARCH64", "cpu_features": ["asimd"]},
    "compiler": {"tvm": "0.27.0", "tvm_ffi": "0.1.14.post0", "llvm": "22"},
    "runtime": {"dlr_abi": "tvm-0.27", "entry": "main"},
    "files": {"compiled.so": {"sha256": "b" * 64, "size": 12345}},
    "created": "2026-11-25T18:00:00Z",
}


def test_the_documented_example_parses_and_round_trips():
    meta = parse_meta(json.dumps(VALID))
    assert meta.dlr_abi_version == (0, 27) and meta.target.tvm.as_tvm_dict()["mcpu"] == "cortex-a72"
    assert json.loads(meta.to_json()) == VALID


def test_names_with_brackets_and_spaces_round_trip():
    data = copy.deepcopy(VALID)
    data["inputs"][0]["name"] = "in [ 0 ]\n{x}"
    meta = parse_meta(json.dumps(data))
    assert parse_meta(meta.to_json()) == meta and '"shape": [1, 3, 224, 224]' in meta.to_json()


def test_armv7_target_keeps_mfloat_abi_spelling():
    data = copy.deepcopy(VALID)
    data["target"].update(arch="armv7l", elf_machine="EM_ARM",
                          tvm={"kind": "llvm", "mtriple": "armv7l-linux-gnueabihf", "mfloat-abi": "hard"})
    assert '"mfloat-abi": "hard"' in parse_meta(json.dumps(data)).to_json()


@pytest.mark.parametrize("path,value,fragment", [
    (("schema",), "hil.neo-artifact/2", "schema is"),
    (("runtime", "dlr_abi"), "0.27", "runtime.dlr_abi"),
    (("target", "arch"), "arm64", "target.arch"),
    (("files",), {"other.so": {"sha256": "b" * 64, "size": 1}}, "files must list compiled.so"),
    (("files",), {"../compiled.so": {"sha256": "b" * 64, "size": 1}}, "files"),
    (("model", "sha256"), "XYZ", "model.sha256"),
    (("inputs",), [], "inputs"),
    (("target", "tvm", "mtriple"), "aarch64 -mcpu=a72", "target.tvm.mtriple"),
])
def test_invalid_fields_name_the_field(path, value, fragment):
    data = copy.deepcopy(VALID)
    node = data
    for key in path[:-1]:
        node = node[key]
    node[path[-1]] = value
    with pytest.raises(ArtifactError, match=fragment.replace(".", r"\.")) as err:
        parse_meta(json.dumps(data))
    assert err.value.failure_class == "artifact"


def test_unknown_keys_are_refused():
    with pytest.raises(ArtifactError, match="surprise: unknown key"):
        parse_meta(json.dumps({**VALID, "surprise": 1}))


@settings(deadline=None)  # a loaded CI machine must not turn into a flaky failure
@given(st.binary(max_size=400))
def test_fuzz_any_bytes(raw):
    try:
        assert isinstance(parse_meta(raw), ArtifactMeta)
    except ArtifactError as exc:
        assert exc.detail.startswith("compiled.meta: ")


leaf = st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=12)
any_json = st.recursive(leaf, lambda k: st.lists(k, max_size=4) | st.dictionaries(st.text(max_size=8), k,
                                                                                   max_size=4), max_leaves=12)


@settings(deadline=None)
@given(st.lists(st.sampled_from(["model", "inputs", "outputs", "target", "compiler", "runtime", "files",
                                 "created"]), min_size=1, max_size=3, unique=True), any_json)
def test_fuzz_mutated_documents(keys, value):
    data = copy.deepcopy(VALID)
    for key in keys:
        data[key] = value
    try:
        meta = parse_meta(json.dumps(data))
    except ArtifactError:
        return
    assert parse_meta(meta.to_json()) == meta
