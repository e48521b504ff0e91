"""The host's reading of the agent's output: any stdout is a report or a typed error naming the device."""

from __future__ import annotations

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from harness.bench.lock import Hold
from harness.bench.measure import BenchError, RuntimeUnavailable, _report, _result
from harness.ondevice.agent import SCHEMA

json_values = st.recursive(st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
                           lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4),
                           max_leaves=20)


class Dev:
    name, emulated, connection = "pi", False, "ssh://pi@10.0.0.7"


@given(st.text(), st.text(), st.integers(-1, 255))
def test_any_stdout_is_a_report_or_a_typed_error(stdout, stderr, status):
    try:
        report = _report(stdout, stderr, status, "pi", "dlr")
    except BenchError as exc:
        assert exc.device == "pi" and exc.step == "measure dlr"
        return
    assert report["schema"] == SCHEMA


@given(st.dictionaries(st.text(max_size=20), json_values, max_size=12))
def test_any_report_object_is_a_result_or_a_typed_error(extra):
    report = {**extra, "schema": SCHEMA}
    try:
        result = _result(Dev(), "m", _report(json.dumps(report), "", 0, "pi", "dlr"), Hold("h", 0.0))
    except BenchError as exc:
        assert exc.device == "pi"
        return
    assert result.device == "pi"


def test_stderr_tail_is_in_the_error():
    with pytest.raises(BenchError) as info:
        _report("", "Traceback\n  ...\nMemoryError: out of memory", 137, "pi", "dlr")
    assert "exited 137" in info.value.detail and "MemoryError: out of memory" in info.value.detail


def test_unavailable_is_its_own_class():
    with pytest.raises(RuntimeUnavailable, match="onnxruntime is unavailable: not installed"):
        _report(json.dumps({"schema": SCHEMA, "available": False, "reason": "not installed"}), "", 0, "pi",
                "onnxruntime")


GOOD = {"schema": SCHEMA, "runtime": "dlr", "runtime_version": "dlr 1.10.0", "machine": "aarch64", "python": "3.11",
        "clock": "perf_counter_ns", "available": True, "settings": {"min_count": 20},
        "latency_ms": {"count": 2, "mean": 1.5, "std": 0.7, "min": 1.0, "p50": 2.0, "p90": 2.0, "p99": 2.0,
                       "max": 2.0},
        "samples_ms": [1.0, 2.0], "first_inference_ms": 3.0, "load_s": 0.1, "peak_rss_bytes": 50 << 20,
        "peak_rss_source": "VmHWM", "cpu_s": {"user": 1.0, "system": 0.1}, "cpu_measure_s": {"user": 0.5,
        "system": 0.0}, "duration_s": 1.0, "valid": True, "wall_start": 10.0, "wall_end": 11.0,
        "warmup": {"count": 2, "seconds": 0.2}}


def test_a_good_report_reads_back():
    r = _result(Dev(), "tinycnn", _report(json.dumps(GOOD), "", 0, "pi", "dlr"), Hold("h", 0.0))
    assert r.peak_rss_mb == 50.0 and r.latency_ms["p90"] == 2.0 and r.figures["load_s"] == 0.1


@given(st.sampled_from(sorted(set(GOOD) - {"schema", "available"})), json_values)
def test_one_damaged_field_is_a_typed_error_or_harmless(key, value):
    report = {**GOOD, key: value}
    try:
        result = _result(Dev(), "m", _report(json.dumps(report), "", 0, "pi", "dlr"), Hold("h", 0.0))
    except BenchError as exc:
        assert exc.device == "pi"
        return
    assert isinstance(result.figures["p90_ms"], int | float) and isinstance(result.peak_rss_mb, float)
