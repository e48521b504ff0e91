"""measure() end to end on this host (LocalTransport): the real dlr wrapper and ONNX Runtime, real files."""

from __future__ import annotations

import shutil
import sys

import pytest

from harness.bench.measure import BenchError, RuntimeUnavailable, measure
from harness.compile.bundled import BUNDLED_MODEL
from harness.lab.device import Device
from harness.lab.inventory import DeviceSpec
from harness.lab.profiles import load_profiles
from harness.transport.local import LocalTransport

pytestmark = pytest.mark.slow  # compiles the bundled model (cached) and builds libdlr (cached)
FAST = {"warmup_count": 1, "warmup_seconds": 0.0, "min_count": 5, "min_seconds": 0.0}


@pytest.fixture(scope="module")
def host():
    spec = DeviceSpec(name="host", profile="ml_c4", connection="local://")
    return Device(spec, load_profiles()["ml_c4"], LocalTransport("host"), "local://")


def test_dlr_and_onnxruntime_on_this_host(host, ml_c4_with_libdlr, tmp_path):
    lines: list[str] = []
    dlr = measure(host, ml_c4_with_libdlr, python=sys.executable, say=lines.append, **FAST)
    assert dlr.runtime == "dlr" and "tvm-0.27" in dlr.runtime_version and dlr.model == "tinycnn"
    assert dlr.latency_ms["count"] == len(dlr.samples_ms) >= 5 and dlr.valid
    assert dlr.latency_ms["min"] <= dlr.latency_ms["p50"] <= dlr.latency_ms["p90"] <= dlr.latency_ms["max"]
    assert dlr.peak_rss_source == "VmHWM" and 10 < dlr.peak_rss_mb < 2000 and dlr.load_s > 0
    assert dlr.host == "controller" and dlr.note is None and dlr.lock.acquired <= dlr.wall_start
    assert dlr.wall_end <= dlr.lock.released
    assert any("measuring tinycnn with dlr" in line for line in lines)
    # The agent finds the bundled .onnx by the model's digest.
    ort = measure(host, ml_c4_with_libdlr, runtime="onnxruntime", python=sys.executable, **FAST)
    assert ort.runtime_version.startswith("onnxruntime ") and ort.latency_ms["count"] >= 5
    with pytest.raises(RuntimeUnavailable, match="no .tflite model was given"):
        measure(host, ml_c4_with_libdlr, runtime="litert", python=sys.executable, **FAST)
    assert BUNDLED_MODEL.exists()


def lscpu_cores() -> int:
    """Physical cores this process may use, by util-linux's lscpu (an independent count)."""
    import os
    import subprocess

    rows = subprocess.run(["lscpu", "--parse=CPU,CORE,SOCKET"], capture_output=True, text=True, check=True).stdout
    mine = os.sched_getaffinity(0)
    cpus = [r.split(",") for r in rows.splitlines() if r and not r.startswith("#")]
    return len({(core, socket) for cpu, core, socket in cpus if int(cpu) in mine})


def test_every_runtime_gets_one_thread_per_physical_core_and_takes_the_count_given(host, ml_c4_with_libdlr):
    """TVM's pool would take half the CPUs on x86_64 (apache/tvm src/runtime/threading_backend.cc); the agent
    gives DLR and ONNX Runtime the same count, and each runtime really starts that many more threads."""
    if shutil.which("lscpu") is None:
        pytest.skip("util-linux's lscpu is not installed")
    for runtime in ("dlr", "onnxruntime"):
        default = measure(host, ml_c4_with_libdlr, runtime=runtime, python=sys.executable, **FAST)
        assert default.settings["threads"] == lscpu_cores()
        one, three = (measure(host, ml_c4_with_libdlr, runtime=runtime, python=sys.executable, threads=n, **FAST)
                      for n in (1, 3))
        assert (one.settings["threads"], three.settings["threads"]) == (1, 3)
        assert three.extra["process_threads"] - one.extra["process_threads"] == 2, runtime
        assert "3 threads" in three.summary()


def test_a_runtime_failure_names_device_step_and_stderr(host, ml_c4_with_libdlr, tmp_path):
    broken = tmp_path / "broken"
    shutil.copytree(ml_c4_with_libdlr, broken)
    (broken / "compiled.so").write_bytes(b"\x7fELF truncated")
    with pytest.raises(BenchError) as info:
        measure(host, broken, python=sys.executable, **FAST)
    err = info.value
    assert err.device == "host" and err.step == "measure dlr" and "failed on the device" in err.detail


@pytest.mark.parametrize(("kw", "match"), [
    ({"min_count": 0}, "minimum count >= 1"),
    ({"max_seconds": 0}, "max-seconds must be > 0"),
    ({"runtime": "tensorrt"}, "unknown runtime"),
    ({"profile": "weekly"}, "unknown runtime 'dlr' or profile 'weekly'"),
])
def test_bad_settings_fail_on_the_host_before_any_upload(host, tmp_path, kw, match):
    with pytest.raises(BenchError, match=match) as info:
        measure(host, tmp_path / "nothing-here", python=sys.executable, **kw)
    assert info.value.failure_class == "inventory"
    assert not list(tmp_path.iterdir())
