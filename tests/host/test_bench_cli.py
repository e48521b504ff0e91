"""`hil bench` end to end on this host: a lab file with a local:// device whose Python has dlr and onnxruntime."""

from __future__ import annotations

import json
import sys

import pytest
import yaml

from harness.cli import main

pytestmark = pytest.mark.slow  # compiles the bundled model and builds libdlr (both cached)


@pytest.fixture(scope="module")
def setup(tmp_path_factory, ml_c4_with_libdlr):
    root = tmp_path_factory.mktemp("bench-cli")
    artifact = ml_c4_with_libdlr
    lab = root / "lab.yaml"
    lab.write_text(yaml.safe_dump({"lab": "benchcli", "devices": [
        {"name": "here", "profile": "ml_c4", "connection": "local://", "features": {"python": sys.executable},
         "budgets": {"load_s": 60.0}}]}))
    return artifact, lab


def test_all_runtimes_as_json_with_a_pytest_benchmark_file(setup, capsys, tmp_path):
    artifact, lab = setup
    code = main(["bench", str(artifact), "--device", "here", "--lab", str(lab), "--runtime", "all", "--json",
                 "--budget", "p90_ms=100000", "--pytest-benchmark-json", str(tmp_path / "pb.json")])
    out = json.loads(capsys.readouterr().out)
    assert code == 0, out
    assert [r["runtime"] for r in out["results"]] == ["dlr", "onnxruntime"]
    assert "no .tflite model was given" in out["unavailable"]["litert"]
    assert out["budgets"] == {"p90_ms": 100000.0, "peak_rss_mb": 400.0, "load_s": 60.0}  # override, lab, profile
    assert out["budget_failures"] == []
    saved = json.loads((tmp_path / "pb.json").read_text())
    assert [b["name"] for b in saved["benchmarks"]] == ["tinycnn[here-dlr]", "tinycnn[here-onnxruntime]"]


def test_a_budget_exceeded_exits_1_with_the_report_line(setup, capsys):
    artifact, lab = setup
    code = main(["bench", str(artifact), "--device", "here", "--lab", str(lab), "--budget", "p90_ms=0.001"])
    err = capsys.readouterr().err
    assert code == 1
    line = next(x for x in err.splitlines() if x.startswith("hil: here: p90 "))
    assert line.endswith(")") and "> budget 0.0 ms (p50 " in line and ", n=" in line


def test_bad_input_is_one_line_and_changes_nothing(setup, capsys):
    artifact, lab = setup
    assert main(["bench", str(artifact), "--device", "here", "--lab", str(lab), "--budget", "p99_ms=3"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err[0].startswith("hil: budget: [budget] budget 'p99_ms=3': expected [MODEL:]KEY=VALUE")
    assert main(["bench", str(artifact), "--device", "nobody", "--lab", str(lab)]) == 2
    assert "no device 'nobody' (devices: here)" in capsys.readouterr().err
