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
