"""`hil tune --device`: where candidates may run, the CLI's arguments, and the runtime wheels per arch.

No processes, no TVM: the refusals come before anything starts; the wheel selection reads a cache
directory laid out as harness.lab.wheels keeps it.
"""

from __future__ import annotations

import tarfile
import zipfile
from pathlib import Path

import pytest

from harness.cli import build_parser
from harness.compile import rpc_runtime
from harness.compile.errors import CompileError
from harness.compile.rpc_server import server_command
from harness.compile.rpc_tune import QEMU_REASON, device_refusal, new_key
from harness.compile.targets import resolve_target
from harness.compile.tune import host_refusal, tune_model
from harness.errors import FailureClass
from harness.lab.device import Device
from harness.lab.inventory import DeviceSpec
from harness.lab.profiles import load_profiles
from harness.transport.local import LocalTransport

RASP = resolve_target("rasp4b", check_cpu=False)
C4 = resolve_target("ml_c4", check_cpu=False)
VERSIONS = {"apache-tvm": "0.27.0.post1", "apache-tvm-ffi": "0.1.14.post0", "ml_dtypes": "0.7.0",
            "typing_extensions": "4.16.0", "cloudpickle": "3.1.3", "psutil": "7.2.2"}


def test_an_emulated_core_of_another_arch_is_refused_for_qemu() -> None:
    why = device_refusal(RASP, "rasp4b-emu", "aarch64", True, machine="x86_64")
    assert why is not None and QEMU_REASON in why and "rasp4b-emu" in why
    assert device_refusal(RASP, "rasp4b-emu", "aarch64", True, machine="x86_64", allow_emulated=True) is None


def test_a_board_and_a_native_emulated_core_are_allowed() -> None:
    assert device_refusal(RASP, "pi-07", "aarch64", False, machine="x86_64") is None
    assert device_refusal(C4, "ml-c4-emu", "x86_64", True, machine="x86_64") is None
    assert device_refusal(RASP, "rasp4b-emu", "aarch64", True, machine="aarch64") is None  # an arm64 controller


def test_a_device_of_another_arch_than_the_target_is_refused_even_when_allowed() -> None:
    why = device_refusal(RASP, "ml-c4-emu", "x86_64", True, machine="x86_64", allow_emulated=True)
    assert why == "rasp4b is aarch64 code and ml-c4-emu is x86_64"


def test_host_refusal_points_at_device() -> None:
    why = host_refusal(RASP, machine="x86_64", flags=frozenset())
    assert why is not None and "--device NAME" in why and "does not do" not in why
    c5 = resolve_target("ml_c5", check_cpu=False)
    why = host_refusal(c5, machine="x86_64", flags=frozenset({"avx2"}))
    assert why is not None and "--device NAME" in why and "avx512f" in why


def _device(name: str, profile: str, machine: str, emulated: bool) -> Device:
    spec = DeviceSpec(name=name, profile=profile, emulated=emulated)
    handle = Device(spec, load_profiles()[profile], LocalTransport(name), "local://")
    handle.__dict__["arch"] = machine  # what `uname -m` would say; nothing runs
    return handle


def test_tune_model_refuses_qemu_before_starting_anything(tmp_path: Path) -> None:
    with pytest.raises(CompileError) as info:
        tune_model(tmp_path / "never-read.onnx", "rasp4b", {"x": [1]}, device=_device("rasp4b-emu", "rasp4b",
                                                                                       "aarch64", True))
    err = info.value
    assert err.device == "rasp4b-emu" and err.step == "tune" and QEMU_REASON in err.detail
    with pytest.raises(CompileError) as info:
        tune_model(tmp_path / "never-read.onnx", "rasp4b", {"x": [1]},
                   device=_device("ml-c4-emu", "ml_c4", "x86_64", True), allow_emulated=True)
    assert info.value.failure_class == FailureClass.WRONG_TARGET


def test_cli_tune_device_arguments() -> None:
    args = build_parser().parse_args(["tune", "m.onnx", "--target", "rasp4b", "--input-config", "{}",
                                      "--device", "rasp4b-emu", "--lab", "lab.yaml", "--allow-emulated"])
    assert (args.device, args.lab, args.allow_emulated) == ("rasp4b-emu", Path("lab.yaml"), True)
    args = build_parser().parse_args(["tune", "m.onnx", "--target", "ml_c4", "--input-config", "{}"])
    assert (args.device, args.lab, args.allow_emulated) == (None, None, False)


def test_requirements_pin_the_controllers_versions() -> None:
    assert rpc_runtime.requirements(VERSIONS) == [f"{n}=={VERSIONS[n]}" for n in rpc_runtime.SAME_AS_CONTROLLER]
    with pytest.raises(CompileError, match="cloudpickle"):
        rpc_runtime.requirements({k: v for k, v in VERSIONS.items() if k != "cloudpickle"})


def _wheel(path: Path, members: dict[str, bytes]) -> Path:
    with zipfile.ZipFile(path, "w") as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    return path


def _cache(root: Path, machine: str, tag: str) -> None:
    folder = root / "wheels" / machine
    folder.mkdir(parents=True)
    for name in rpc_runtime.SAME_AS_CONTROLLER:
        dist = name.replace("-", "_")
        members = {f"{dist}/__init__.py": machine.encode(), f"{dist}-{VERSIONS[name]}.dist-info/METADATA": b""}
        if name == "apache-tvm":
            members = {"tvm/__init__.py": b"", "tvm/lib/libtvm_runtime.so": machine.encode(),
                       "tvm/lib/libtvm_runtime_extra.so": b"x", "tvm/lib/libtvm_compiler.so": b"big",
                       "tvm/include/tvm/x.h": b""}
        _wheel(folder / f"{dist}-{VERSIONS[name]}-py3-none-{tag}.whl", members)


def test_wheels_and_bundle_are_those_of_the_devices_arch(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HIL_STATE_DIR", str(tmp_path))
    monkeypatch.setattr(rpc_runtime, "_installed", lambda names: VERSIONS)
    _cache(tmp_path, "aarch64", "manylinux_2_28_aarch64")
    _cache(tmp_path, "x86_64", "manylinux_2_28_x86_64")
    arm = rpc_runtime.wheels_for("arm64")  # Docker's spelling: the cache is by `uname -m`
    assert len(arm) == len(VERSIONS) and all(p.name.endswith("_aarch64.whl") for p in arm)
    assert all(p.name.endswith("_x86_64.whl") for p in rpc_runtime.wheels_for("x86_64"))
    with tarfile.open(rpc_runtime.bundle("aarch64")) as tar:
        names = set(tar.getnames())
        assert tar.extractfile("tvm/lib/libtvm_runtime.so").read() == b"aarch64"  # type: ignore[union-attr]
    assert rpc_runtime.EXTRA_LIBRARY in names and "tvm/lib/libtvm_compiler.so" not in names
    assert not any(".dist-info/" in n or n.startswith("tvm/include/") for n in names)
    assert rpc_runtime.bundle("aarch64") != rpc_runtime.bundle("x86_64")


def test_server_command_registers_runtime_only_with_the_extra_library() -> None:
    line = server_command("/opt/hil/venv/bin/python", "/tmp/hil-rpc.a/site", "/tmp/hil-rpc.a", ("10.0.0.1", 9190),
                          "hil-pi-1234", "10.0.0.7", threads=4)
    assert "TVM_USE_RUNTIME_LIB=1 TVM_NUM_THREADS=4" in line  # timed with the threads inference gets
    assert "/opt/hil/venv/bin/python -m tvm.exec.rpc_server" in line
    assert "setsid sh -c" in line and "-lt 120 ]" in line  # the lease: the server ends without the controller
    assert "--tracker 10.0.0.1:9190 --key hil-pi-1234 --custom-addr 10.0.0.7" in line
    assert f"--load-library /tmp/hil-rpc.a/site/{rpc_runtime.EXTRA_LIBRARY}" in line
    assert new_key("pi 07") != new_key("pi 07") and new_key("pi 07").startswith("hil-pi-07-")


def test_failed_candidates_are_counted_from_the_records(tmp_path: Path) -> None:
    from harness.compile.tune_db import RECORDS, WORKLOADS, TuningDatabase

    (tmp_path / WORKLOADS).write_text('["0x1", "{}"]\n')
    (tmp_path / RECORDS).write_text('[0, [["t"], [1e-05], {}, []]]\n[0, [["t"], [1000000000.0], {}, []]]\n'
                                    '[0, [["t"], [1e+09], {}, []]]\n[0, [["t"], [2e-05], {}, []]]\n')
    db = TuningDatabase(tmp_path)
    assert db.failed_since(0) == 2 and db.failed_since(2) == 1 and db.failed_since(4) == 0


def test_ctrl_c_is_recorded_for_the_loop_and_the_workers() -> None:
    """MetaSchedule's C++ loop must not see a KeyboardInterrupt: the handler records it, the loop raises it."""
    import os
    import signal

    from harness.compile.candidates import Interrupt, unless_stopped

    interrupt, before = Interrupt(), signal.getsignal(signal.SIGINT)
    with interrupt.installed():
        interrupt.check()
        os.kill(os.getpid(), signal.SIGINT)  # returns: the handler does not raise
        assert interrupt.hit and Path(interrupt.stop_file).exists()
        with pytest.raises(RuntimeError, match="interrupted"):
            unless_stopped("s_tir.meta_schedule.builder.local_builder.default_build", interrupt.stop_file)
        with pytest.raises(KeyboardInterrupt):
            interrupt.check()
    assert signal.getsignal(signal.SIGINT) is before and not Path(interrupt.stop_file).parent.exists()
