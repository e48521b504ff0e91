"""The agent as a process on this host: its peak-RSS self-test, unavailable and failing runtimes."""

from __future__ import annotations

import json
import subprocess
import sys

from harness.ondevice import agent

AGENT = agent.__file__


def test_self_test_peak_rss_grows_by_the_allocation():
    """VmHWM after allocating and touching 64 MiB exceeds the baseline by 64 MiB (within 5 %)."""
    proc = subprocess.run([sys.executable, AGENT, "--self-test-alloc-mib", "64"], capture_output=True, text=True,
                          timeout=60, check=True)
    report = json.loads(proc.stdout)
    assert report["peak_rss_source"] == "VmHWM"
    delta = report["peak_rss_bytes"] - report["baseline_peak_rss_bytes"]
    assert abs(delta - 64 * agent.MIB) <= 0.05 * 64 * agent.MIB, delta


def test_unavailable_runtime_is_a_report_not_a_crash(tmp_path):
    (tmp_path / "compiled.meta").write_text(json.dumps(
        {"inputs": [{"name": "data", "shape": [1, 4], "dtype": "float32"}]}))
    for runtime, reason in (("onnxruntime", "no source .onnx"), ("litert", "no .tflite")):
        proc = subprocess.run([sys.executable, AGENT, "--model-dir", str(tmp_path), "--runtime", runtime],
                              capture_output=True, text=True, timeout=60)
        report = json.loads(proc.stdout)
        assert proc.returncode == 0 and report["available"] is False and reason in report["reason"]


def test_a_failing_runtime_exits_1_with_its_error(tmp_path):
    (tmp_path / "compiled.meta").write_text(json.dumps(
        {"inputs": [{"name": "data", "shape": [1, 4], "dtype": "float32"}]}))
    (tmp_path / "broken.onnx").write_bytes(b"not a model")
    proc = subprocess.run([sys.executable, AGENT, "--model-dir", str(tmp_path), "--runtime", "onnxruntime",
                           "--onnx", str(tmp_path / "broken.onnx")], capture_output=True, text=True, timeout=60)
    report = json.loads(proc.stdout)
    assert proc.returncode == 1 and "error" in report and proc.stderr.strip()
