"""pytest-benchmark's JSON format from our device samples: the stats block and the document's shape."""

from __future__ import annotations

from pathlib import Path

import pytest

from harness.bench import pytest_benchmark_json as pbj
from harness.bench.lock import Hold
from harness.bench.measure import BenchResult
from harness.ondevice.stats import percentile

STATS_KEYS = {"min", "max", "mean", "stddev", "rounds", "median", "iqr", "q1", "q3", "iqr_outliers",
              "stddev_outliers", "outliers", "ld15iqr", "hd15iqr", "ops", "total", "data", "iterations"}


def result(samples_ms: list[float], device="ml-c4-emu", runtime="dlr") -> BenchResult:
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
    assert first["name"] == "tinycnn[ml-c4-emu-dlr]" and first["params"] == {"device": "ml-c4-emu", "runtime": "dlr"}
    assert first["stats"]["data"] == [0.001, 0.002, 0.003]  # seconds, as pytest-benchmark stores them
    assert len(doc["commit_info"]["id"] or "") == 40
