"""Neo target catalogue → TVM dict targets, CPU features, CompilerOptions, and error wording."""

from __future__ import annotations

import pytest
import tvm
from hypothesis import given, settings
from hypothesis import strategies as st

from harness.compile.errors import TargetError
from harness.compile.targets import DEVICES, cpu_features, resolve_target

REQUIRED = ["ml_c5", "ml_m5", "ml_c6g", "rasp3b", "rasp4b", "jetson_nano", "jetson_xavier", "imx8qm"]


@pytest.mark.parametrize("name", sorted(DEVICES))
def test_every_catalogue_entry_is_a_target_tvm_accepts(name):
    t = resolve_target(name)
    target = tvm.target.Target(t.tvm)
    assert target.kind.name == "llvm"
    assert str(target.attrs["mtriple"]).startswith({"x86_64": "x86_64", "aarch64": "aarch64",
                                                    "armv7l": "armv7l"}[t.arch])


@pytest.mark.parametrize("name", REQUIRED)
def test_required_devices_are_known(name):
    assert resolve_target(name).neo == name


def test_rasp4b_matches_the_artifact_contract():
    t = resolve_target("rasp4b")
    assert t.tvm == {"kind": "llvm", "mtriple": "aarch64-linux-gnu", "mcpu": "cortex-a72", "mattr": ["+neon"]}
    assert (t.arch, t.elf_machine, t.cpu_features) == ("aarch64", "EM_AARCH64", ("asimd",))


def test_ml_c5_requires_avx512_and_rasp3b_is_hard_float_armv7():
    assert "avx512f" in resolve_target("ml_c5").cpu_features
    r3 = resolve_target("RASP3B")
    assert r3.tvm["mfloat-abi"] == "hard" and r3.tvm["mtriple"] == "armv7l-linux-gnueabihf"
    assert r3.arch == "armv7l" and "neon" in r3.cpu_features


def test_jetsons_are_cpu_targets_and_xavier_needs_more_than_nano():
    nano, xavier = resolve_target("jetson_nano"), resolve_target("jetson_xavier")
    assert nano.tvm["mcpu"] == xavier.tvm["mcpu"] == "cortex-a57"
    assert set(nano.cpu_features) < set(xavier.cpu_features)
    assert {"atomics", "fphp"} <= set(xavier.cpu_features)


def test_target_platform_as_dict_or_json_with_compiler_options():
    arm64 = resolve_target('{"Os":"LINUX","Arch":"ARM64"}')
    assert arm64.neo == "LINUX_ARM64" and arm64.tvm["mtriple"] == "aarch64-linux-gnu"
    hf = resolve_target({"Os": "LINUX", "Arch": "ARM_EABIHF"}, "{'mattr': ['+neon', '+vfpv4']}")
    assert hf.tvm["mattr"] == ["+neon", "+vfp4"]  # Neo's spelling, LLVM's name
    assert hf.cpu_features == ("neon", "vfpv4")
    x86 = resolve_target({"os": "linux", "arch": "x86_64"}, {"mcpu": "skylake-avx512"})
    assert x86.tvm["mcpu"] == "skylake-avx512" and "avx512f" in x86.cpu_features
    assert resolve_target("rasp4b", {"mcpu": "cortex-a53"}).tvm["mcpu"] == "cortex-a53"


def test_unknown_target_lists_the_known_ones():
    with pytest.raises(TargetError) as err:
        resolve_target("ml_c55")
    text = str(err.value)
    assert "unknown target 'ml_c55'" in text and all(name in text for name in REQUIRED)
    assert '"Arch":"ARM64"' in text and err.value.failure_class == "compile"


@pytest.mark.parametrize("target,options,fragment", [
    ("ml_p3", None, "TargetDevice ml_p3 needs an accelerator"),
    ({"Os": "LINUX", "Arch": "ARM64", "Accelerator": "NVIDIA"}, None, "cloud compiler"),
    ({"Os": "ANDROID", "Arch": "ARM64"}, None, "not supported offline"),
    ({"Os": "LINUX", "Arch": "ARM64", "Colour": "red"}, None, "unknown keys"),
    ("rasp4b", {"mcpu": "pentium-9000"}, "not a CPU LLVM knows"),
    ("rasp4b", {"mattr": "neon"}, "mattr must be a list"),
    ("rasp4b", {"mattr": ["+NEON"]}, "mattr must be a list"),
    ("rasp4b", {"opt-level": 3}, "not supported offline"),
    ("rasp4b", "not json", "not valid JSON"),
])
def test_bad_platforms_and_options_are_one_line_errors(target, options, fragment):
    with pytest.raises(TargetError, match=fragment):
        resolve_target(target, options)


def test_cpu_feature_vocabulary_per_arch():
    assert cpu_features("aarch64", None, ["+neon"]) == ("asimd",)
    assert cpu_features("armv7l", None, ["+neon"]) == ("neon",)
    assert cpu_features("aarch64", "neoverse-n1", ["+neon", "+dotprod"]).count("asimddp") == 1
    assert cpu_features("x86_64", None, ["-avx512f"]) == ()


@settings(deadline=None)  # a loaded CI machine must not turn into a flaky failure
@given(st.one_of(st.text(max_size=80), st.dictionaries(st.text(max_size=10), st.text(max_size=10), max_size=4)),
       st.one_of(st.none(), st.text(max_size=60),
                 st.dictionaries(st.sampled_from(["mcpu", "mattr", "x"]),
                                 st.one_of(st.text(max_size=12), st.lists(st.text(max_size=8), max_size=3)),
                                 max_size=3)))
def test_fuzz_resolve_target_is_a_target_or_a_typed_error(target, options):
    try:
        t = resolve_target(target, options)
    except TargetError as exc:
        assert "ValidationException" in exc.detail
    else:
        assert t.tvm["kind"] == "llvm" and t.arch in ("x86_64", "aarch64", "armv7l")
