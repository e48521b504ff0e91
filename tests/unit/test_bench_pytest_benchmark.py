"""pytest-benchmark's JSON format from our device samples, read back by `pytest-benchmark compare` itself."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from harness.bench import pytest_benchmark_json as pbj
from harness.bench.lock import Hold
from harness.bench.measure import BenchResult
from harness.bench.stats import percentile

STATS_KEYS = {"min", "max", "mean", "stddev", "rounds", "median", "iqr", "q1", "q3", "iqr_outliers",
              "stddev_outliers", "outliers", "ld15iqr", "hd15iqr", "ops", "total", "data", "iterations"}


def result(samples_ms: list[float], device="ml-c5-emu", runtime="dlr") -> BenchResult:
    return BenchResult(
        device=device, runtime=runtime, runtime_version="dlr 1.10.0", model="tinycnn",
        latency_ms={"count": len(samples_ms), "p50": 1.0, "p90": 2.0, "p99": 3.0}, samples_ms=samples_ms,
        first_inference_ms=5.0, load_s=0.1, peak_rss_mb=50.0, peak_rss_source="VmHWM", cpu_s={}, cpu_measure_s={},
        duration_s=1.0, valid=True, settings={"min_count": 20, "min_seconds": 1.0, "max_seconds": 300.0,
                                              "warmup_count": 2},
        host="controller", emulated=True, machine="x86_64", note="n", wall_start=0.0, wall_end=1.0,
        lock=Hold("controller", 0.0))


def test_stats_block_from_known_samples():
    samples = [0.001 * x for x in (1, 2, 3, 4, 100)]  # one far outlier
    s = pbj.benchmark_stats(samples)
    assert set(s) == STATS_KEYS
    assert s["rounds"] == 5 and s["min"] == 0.001 and s["max"] == 0.1
    assert s["median"] == pytest.approx(0.003) and s["q1"] == percentile(samples, 25)
    assert s["iqr_outliers"] == 1 and s["hd15iqr"] == pytest.approx(0.004) and s["ld15iqr"] == 0.001
    assert s["outliers"] == f"{s['stddev_outliers']};1"
    assert s["ops"] == pytest.approx(5 / sum(samples)) and s["data"] == samples


def test_document_shape():
    doc = pbj.document([result([1.0, 2.0, 3.0]), result([4.0, 5.0], runtime="onnxruntime")],
                       cwd=Path(__file__).parent)
    assert set(doc) == {"machine_info", "commit_info", "benchmarks", "datetime", "version"}
    first = doc["benchmarks"][0]
    assert {"group", "name", "fullname", "params", "stats", "options"} <= set(first)
    assert first["name"] == "tinycnn[ml-c5-emu-dlr]" and first["params"] == {"device": "ml-c5-emu", "runtime": "dlr"}
    assert first["stats"]["data"] == [0.001, 0.002, 0.003]  # seconds, as pytest-benchmark stores them
    assert len(doc["commit_info"]["id"] or "") == 40


def test_pytest_benchmark_compare_reads_two_written_files(tmp_path):
    beside = Path(sys.executable).with_name("pytest-benchmark")  # the one installed with this interpreter
    cli = str(beside) if beside.exists() else shutil.which("pytest-benchmark")
    assert cli, "pytest-benchmark (a project dependency) is not installed"
    night1 = pbj.write(tmp_path / "0001_night1.json", [result([30.0, 31.0, 35.0, 32.0])])
    night2 = pbj.write(tmp_path / "0002_night2.json", [result([40.0, 41.0, 45.0, 42.0])])
    json.loads(night1.read_text())
    proc = subprocess.run([cli, "compare", str(night1), str(night2), "--columns", "min,median,max",
                           "--csv", str(tmp_path / "cmp")], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert "tinycnn[ml-c5-emu-dlr]" in proc.stdout and "night1" in proc.stdout and "night2" in proc.stdout
    rows = (tmp_path / "cmp.csv").read_text().splitlines()
    assert [r.split(",")[-3:] for r in rows[1:]] == [["0.03", "0.032", "0.035"], ["0.04", "0.042", "0.045"]]
