"""evaluate(meta, facts): the field failures, each with its reason and Neo/DLR advice."""

from __future__ import annotations

import io
import json
import sys

import pytest

from harness.artifact import parse_meta, print_verdicts
from harness.preflight import DeviceFacts, RuntimeFacts, evaluate, memory_needed, run_preflight
from harness.transport.local import LocalTransport
from tests.unit.test_artifact_meta import VALID

RT_27 = RuntimeFacts(version="1.10.0+tvm-0.27.0", wrapper="1.10.0", libdlr="/opt/hil/venv/dlr/libdlr.so")
PI4 = DeviceFacts(arch="aarch64", cpu_flags=frozenset("fp asimd evtstrm crc32 cpuid".split()), cpu_part="0xd08",
                  glibc=(2, 31), mem_available=3 << 30, runtime=RT_27)
NANO = DeviceFacts(arch="aarch64", cpu_flags=frozenset("fp asimd evtstrm aes pmull sha1 sha2 crc32".split()),
                   cpu_part="0xd07", glibc=(2, 27), mem_available=2 << 30, runtime=RT_27)
X86 = DeviceFacts(arch="x86_64", cpu_flags=frozenset("sse4_2 avx avx2 fma avx512f".split()),
                  cpu_model="Intel Xeon", glibc=(2, 36), mem_available=8 << 30, runtime=RT_27)


def meta_for(neo="rasp4b", **changes):
    from harness.compile.targets import resolve_target

    t = resolve_target(neo)
    data = json.loads(json.dumps(VALID))
    data["target"] = {"neo": t.neo, "tvm": t.tvm, "arch": t.arch, "elf_machine": t.elf_machine,
                      "cpu_features": list(t.cpu_features)}
    data.update(changes)
    return parse_meta(json.dumps(data))


def by_check(verdicts):
    return {v.check: v for v in verdicts}


def test_rasp4b_model_on_a_pi4_passes():
    verdicts = evaluate(meta_for("rasp4b"), PI4, glibc_required=(2, 17))
    assert [v.check for v in verdicts] == ["arch", "cpu", "runtime", "glibc", "memory"]
    assert all(v.ok for v in verdicts), verdicts


def test_aarch64_model_on_x86_says_recompile_for_ml_c5():
    v = by_check(evaluate(meta_for("rasp4b"), X86))["arch"]
    assert not v.ok
    assert v.reason.startswith("model compiled for aarch64 (rasp4b), this device is x86_64")
    assert v.advice == "recompile with TargetDevice=ml_c5"


def test_xavier_model_on_a_nano_is_an_illegal_instruction():
    v = by_check(evaluate(meta_for("jetson_xavier"), NANO))["cpu"]
    assert not v.ok and "Illegal instruction" in v.reason and "atomics" in v.reason
    assert "CPU (Cortex-A57 (0xd07)) lacks" in v.reason
    assert v.advice == "recompile with TargetDevice=jetson_nano"


def test_runtime_abi_mismatch_in_dlr_words():
    old = DeviceFacts(**{**PI4.__dict__, "runtime": RuntimeFacts(version="1.10.0+tvm-0.26.0")})
    v = by_check(evaluate(meta_for("rasp4b"), old))["runtime"]
    assert not v.ok
    assert v.reason == ("model compiled with TVM 0.27 needs runtime ABI tvm-0.27, this device's runtime is "
                        "tvm-0.26 (DLR 1.10.0+tvm-0.26.0)")
    assert v.advice == "install DLR matching compiler TVM 0.27 or recompile with TVM 0.26"


def test_untagged_or_missing_dlr_and_bundled_libdlr():
    upstream = DeviceFacts(**{**PI4.__dict__, "runtime": RuntimeFacts(version="1.10.0")})
    assert "does not say which TVM" in by_check(evaluate(meta_for(), upstream))["runtime"].reason
    none = DeviceFacts(**{**PI4.__dict__, "runtime": RuntimeFacts(error="the dlr Python package is not installed")})
    v = by_check(evaluate(meta_for(), none))["runtime"]
    assert not v.ok and "not installed" in v.reason and "--runtime-lib" in v.advice
    files = {**VALID["files"], "libdlr.so": {"sha256": "c" * 64, "size": 10}}
    assert by_check(evaluate(meta_for(files=files), none))["runtime"].ok


def test_old_glibc_and_musl():
    v = by_check(evaluate(meta_for(), NANO, glibc_required=(2, 34)))["glibc"]
    assert not v.ok and "needs glibc ≥ 2.34, device has 2.27" in v.reason
    musl = DeviceFacts(**{**PI4.__dict__, "glibc": None, "libc_text": "musl libc (aarch64) Version 1.2.4"})
    assert "musl" in by_check(evaluate(meta_for(), musl, glibc_required=(2, 17)))["glibc"].reason


def test_cgroup_limit_below_need_predicts_oom():
    meta = meta_for()
    tight = DeviceFacts(**{**PI4.__dict__, "cgroup_limit": memory_needed(meta) - 1, "cgroup_usage": 0})
    v = by_check(evaluate(meta, tight))["memory"]
    assert not v.ok and "cgroup limit" in v.reason and "OOM" in v.reason
    assert by_check(evaluate(meta, PI4))["memory"].ok


def test_run_preflight_on_this_machine_and_print(capsys):
    import platform

    arch = platform.machine()
    neo = {"x86_64": "ml_c4", "aarch64": "rasp4b"}.get(arch)
    if neo is None:
        pytest.skip(f"no catalogue entry for host arch {arch}")
    verdicts = run_preflight(meta_for(neo), LocalTransport("controller"), python=sys.executable)
    checks = by_check(verdicts)
    assert checks["arch"].ok and checks["memory"].ok
    out = io.StringIO()
    print_verdicts(verdicts, out)
    assert out.getvalue().splitlines()[0].startswith("  ok   arch")
