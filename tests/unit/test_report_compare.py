"""Baseline comparison: threshold math, new failures, fixed cells, previous runs, the percent option."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import pytest

from harness.report.cli import percent
from harness.report.compare import compare, previous_runs
from harness.report.results_json import ReportError


def run(run_id: str, *cells: tuple[str, str, str, dict]) -> dict:
    return {"schema": "edge-hil/results", "schema_version": 1, "run_id": run_id,
            "records": [{"device": d, "scenario": s, "status": st, "class": None, "stats": stats}
                        for d, s, st, stats in cells]}


def test_a_p90_beyond_the_threshold_is_a_regression_at_the_threshold_is_not() -> None:
    old = run("a", ("x86", "inference", "passed", {"dlr": {"p90": 10.0}, "onnxruntime": {"p90_ms": 20.0}}),
              ("arm", "inference", "passed", {"dlr": {"p90": 100.0}}))
    new = run("b", ("x86", "inference", "passed", {"dlr": {"p90": 11.0}, "onnxruntime": {"p90_ms": 22.2}}),
              ("arm", "inference", "passed", {"dlr": {"p90": 80.0}}))
    result = compare(old, new)
    assert [(c.device, c.runtime) for c in result.regressions] == [("x86", "onnxruntime")]
    assert result.regressions[0].ratio == pytest.approx(0.11)
    assert [(c.device, c.new) for c in result.improvements] == [("arm", 80.0)]
    assert result.failed and not result.new_failures and not result.fixed
    assert not compare(old, new, threshold=0.2).failed
    assert [c.runtime for c in compare(old, new, threshold=0.05).regressions] == ["dlr", "onnxruntime"]


def test_other_metrics_and_missing_or_zero_figures_are_not_compared() -> None:
    old = run("a", ("x86", "inference", "passed", {"dlr": {"p90": 10.0, "p99": 10.0}, "ort": {"p90": 0}}))
    new = run("b", ("x86", "inference", "passed", {"dlr": {"p90": 10.0, "p99": 30.0}, "ort": {"p90": 5.0},
                                                   "tflite": {"p90": 99.0}}))
    assert not compare(old, new).regressions
    assert [c.metric for c in compare(old, new, metric="p99").regressions] == ["p99"]
    with pytest.raises(ReportError, match="unknown metric"):
        compare(old, new, metric="p42")
    with pytest.raises(ReportError, match="threshold"):
        compare(old, new, threshold=-0.1)


def test_new_failures_and_fixed_cells() -> None:
    old = run("a", ("x86", "deploy", "passed", {}), ("x86", "rollback", "failed", {}),
              ("arm", "deploy", "skipped", {}), ("arm", "rollback", "error", {}))
    new = run("b", ("x86", "deploy", "failed", {}), ("x86", "rollback", "passed", {}),
              ("arm", "deploy", "error", {}), ("arm", "rollback", "failed", {}), ("arm", "compile", "failed", {}))
    result = compare(old, new)
    assert {(c.device, c.scenario, c.old, c.new) for c in result.new_failures} == {
        ("x86", "deploy", "passed", "failed"), ("arm", "deploy", "skipped", "error"),
        ("arm", "compile", None, "failed")}
    assert [(c.device, c.scenario) for c in result.fixed] == [("x86", "rollback")]
    assert result.failed
    only_fixed = compare(old, run("c", ("x86", "rollback", "passed", {})))
    assert not only_fixed.failed and len(only_fixed.fixed) == 1
    assert any(line.startswith("new failure arm compile: absent -> failed") for line in result.lines())
    assert json.loads(json.dumps(result.as_dict()))["failed"] is True


def test_previous_runs_are_sorted_by_run_id_and_skip_broken_ones(tmp_path: Path) -> None:
    for run_id in ("20260102-000000-aaaa", "20260101-000000-bbbb", "20260103-000000-cccc"):
        (tmp_path / run_id).mkdir()
        (tmp_path / run_id / "results.json").write_text(json.dumps(run(run_id)))
    (tmp_path / "20260104-000000-dddd").mkdir()
    (tmp_path / "20260104-000000-dddd" / "results.json").write_text("{broken")
    found = previous_runs(tmp_path, exclude=tmp_path / "20260103-000000-cccc")
    assert [r["run_id"] for r in found] == ["20260101-000000-bbbb", "20260102-000000-aaaa"]
    assert [r["run_id"] for r in previous_runs(tmp_path, limit=1)] == ["20260103-000000-cccc"]


def test_threshold_option_takes_percent() -> None:
    assert percent("10") == pytest.approx(0.10) and percent("12.5%") == pytest.approx(0.125)
    for bad in ("ten", "-5", ""):
        with pytest.raises(argparse.ArgumentTypeError):
            percent(bad)


def test_hil_compare_exits_1_on_a_regression_and_0_when_within(tmp_path: Path,
                                                                  capsys: pytest.CaptureFixture[str]) -> None:
    from harness.cli import main

    old, new = tmp_path / "old.json", tmp_path / "new.json"
    old.write_text(json.dumps(run("a", ("x86", "inference", "passed", {"dlr": {"p90": 10.0}}))))
    new.write_text(json.dumps(run("b", ("x86", "inference", "passed", {"dlr": {"p90": 11.5}}))))
    assert main(["compare", str(old), str(new)]) == 1
    out, err = capsys.readouterr()
    assert "regression x86 inference dlr: p90 10.000 -> 11.500 ms (+15.0%" in out and "FAILED" in err
    assert main(["compare", str(old), str(new), "--threshold", "20%"]) == 0
    assert main(["compare", str(old), str(tmp_path / "missing.json")]) == 2
