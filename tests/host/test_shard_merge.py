"""`hil run --shard K/N` twice, concurrently, then `hil report merge`: the same device × scenario matrix as one
unsharded `hil run` of the same lab (three local:// devices, the smoke scenario)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
import yaml

from harness.cli import main

ROOT = Path(__file__).resolve().parents[2]
DEVICES = ["here-c", "here-a", "here-b"]  # not sorted: shards must not depend on the lab file's order


def _hil_run(lab: Path, reports: Path, *extra: str) -> subprocess.Popen:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.Popen([sys.executable, "-m", "harness.cli", "run", "--lab", str(lab), "--reports", str(reports),
                             "--no-health-check",  # local:// devices have no Greengrass core to pass it
                             *extra, "--no-lab-up", "-k", "smoke", "-p", "no:xdist"], cwd=ROOT, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def _matrix(results_path: Path) -> list[tuple[str, str, str, list[str]]]:
    doc = json.loads(results_path.read_text())
    return [(r["device"], r["scenario"], r["status"], sorted(t["nodeid"] for t in r["tests"])) for r in doc["records"]]


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    root = tmp_path_factory.mktemp("shards")
    lab = root / "lab.yaml"
    lab.write_text(yaml.safe_dump({"lab": "shards", "devices": [
        {"name": n, "profile": "ml_c4", "connection": "local://", "features": {"python": sys.executable}}
        for n in DEVICES]}))
    procs = {name: _hil_run(lab, root / name, *extra) for name, extra in
             (("whole", ()), ("s1", ("--shard", "1/2")), ("s2", ("--shard", "2/2")))}
    outputs = {name: p.communicate(timeout=600)[0] for name, p in procs.items()}
    for name, p in procs.items():
        assert p.returncode == 0, outputs[name]
    return root, {name: next((root / name).iterdir()) for name in procs}


def test_each_shard_runs_its_own_devices_in_its_own_run_directory(runs):
    _, dirs = runs
    s1 = json.loads((dirs["s1"] / "results.json").read_text())
    s2 = json.loads((dirs["s2"] / "results.json").read_text())
    assert {r["device"] for r in s1["records"]} == {"here-a", "here-c"}  # sorted names dealt round-robin
    assert {r["device"] for r in s2["records"]} == {"here-b"}
    assert (s1["environment"]["shard"], s2["environment"]["shard"]) == ("1/2", "2/2")
    assert "--shard 1/2" in s1["environment"]["rerun"]


def test_merged_shards_give_the_unsharded_matrix(runs, capsys):
    root, dirs = runs
    out = root / "merged"
    assert main(["report", "merge", str(dirs["s1"]), str(dirs["s2"]), "-o", str(out)]) == 0
    assert _matrix(out / "results.json") == _matrix(dirs["whole"] / "results.json")
    merged, whole = (json.loads((d / "results.json").read_text()) for d in (out, dirs["whole"]))
    assert merged["summary"] == whole["summary"]
    names = lambda d: sorted(c.get("name") for c in ET.parse(d / "junit.xml").getroot().iter("testcase"))  # noqa: E731
    assert names(out) == names(dirs["whole"])
    assert (out / "index.html").read_text().count("here-b") >= 1
    assert "3 device" in capsys.readouterr().err


def test_merging_a_shard_with_the_whole_run_is_refused(runs, capsys):
    root, dirs = runs
    assert main(["report", "merge", str(dirs["whole"]), str(dirs["s2"]), "-o", str(root / "bad")]) == 2
    assert "device 'here-b' appears in both" in capsys.readouterr().err
    assert not (root / "bad").exists()
