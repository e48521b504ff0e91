"""`hil run --model NEW --reference-model OLD` on a local:// device (this machine, the project's libdlr): both
versions compiled with TVM and measured by the bench agent, NEW's DLR outputs checked against OLD run with
ONNX Runtime, one verdict per device in results.json and the report.

NEW is OLD with its output renamed (same numbers: the verdict passes) or with one weight matrix negated
(different answers: the verdict fails on agreement). Latency thresholds are wide: this host's two CPUs are
shared, so a 50 us model's p50 ratio measures contention; the ratios are still recorded.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import onnx
import pytest
import yaml
from onnx import helper, numpy_helper

from tests import any_models

ROOT = Path(__file__).resolve().parents[2]
CONFIG = json.dumps({"vibration": [1, 256]})
pytestmark = pytest.mark.slow


def _variant(old: Path, path: Path, *, negate: str | None = None) -> Path:
    model = onnx.load(old)
    graph = model.graph
    if negate:
        (w,) = [t for t in graph.initializer if t.name == negate]
        w.CopyFrom(numpy_helper.from_array(-numpy_helper.to_array(w), negate))
    else:  # the next version renames its output; the numbers stay
        graph.node.append(helper.make_node("Identity", [graph.output[0].name], ["condition_v2"]))
        graph.output[0].name = "condition_v2"
    onnx.save(model, path)
    return path


@pytest.fixture(scope="module")
def lab(tmp_path_factory, python_with_libdlr: Path) -> Path:
    root = tmp_path_factory.mktemp("versus")
    path = root / "lab.yaml"
    path.write_text(yaml.safe_dump({"lab": "versus", "devices": [
        {"name": "here", "profile": "ml_c4", "connection": "local://",
         "features": {"python": str(python_with_libdlr)}}]}))
    return path


def _hil_run(lab: Path, new: Path, old: Path, reports: Path) -> tuple[subprocess.CompletedProcess, dict]:
    run = subprocess.run(
        [sys.executable, "-m", "harness.cli", "run", "--lab", str(lab), "--reports", str(reports), "--no-health-check",
         "--model", str(new), "--input-config", CONFIG, "--reference-model", str(old),
         "--max-latency-ratio", "20", "--max-memory-ratio", "3", "--no-lab-up", "-k", "test_versus", "-p", "no:xdist"],
        cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)}, capture_output=True, text=True, timeout=600)
    (results,) = reports.glob("*/results.json")
    return run, json.loads(results.read_text())


def test_a_version_with_the_same_answers_passes_and_one_with_other_answers_fails(lab, tmp_path):
    old = any_models.vibration(tmp_path / "sensor-v1.onnx")
    same, results = _hil_run(lab, _variant(old, tmp_path / "sensor-v2.onnx"), old, tmp_path / "same")
    assert same.returncode == 0, same.stdout[-3000:] + same.stderr[-2000:]
    (record,) = [r for r in results["records"] if r["scenario"] == "versus"]
    verdict = record["facts"]["versus"]
    assert verdict["ok"] and verdict["agreement"] == 1.0 and verdict["sets"] == 1
    assert (verdict["model"], verdict["reference"]) == ("sensor-v2", "sensor-v1")
    assert verdict["latency_ratio"] > 0 and verdict["memory_ratio"] > 0 and verdict["thresholds"]["min_agreement"] == 1
    assert set(record["stats"]) == {"dlr", "dlr:reference"} and record["stats"]["dlr:reference"]["p50"] > 0
    html = next((tmp_path / "same").glob("*/index.html")).read_text()
    assert 'id="versus-table"' in html and "within thresholds" in html

    other, results = _hil_run(lab, _variant(old, tmp_path / "sensor-v3.onnx", negate="w2"), old, tmp_path / "other")
    assert other.returncode == 1, other.stdout[-3000:]
    (record,) = [r for r in results["records"] if r["scenario"] == "versus"]
    assert record["status"] == "failed" and not record["facts"]["versus"]["ok"]
    assert "outputs agree with the reference on 0% of 1 input sets" in record["tests"][0]["message"]
    assert record["facts"]["versus"]["disagreements"][0].startswith("seed 0: condition")
