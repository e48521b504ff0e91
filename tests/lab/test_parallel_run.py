"""Devices in parallel: xdist workers find each Neo target compiled by the controller, never compile it again."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from harness.run import SCENARIOS

RUN_TIMEOUT = 600


def test_workers_find_every_target_compiled_by_the_controller(lab, tmp_path):
    targets = {lab.lab.profile_of(d).neo_target for d in lab.lab.spec.devices}
    results = tmp_path / "results.json"
    env = {**os.environ, "HIL_COMPILE_CACHE": str(tmp_path / "cache")}  # empty: every target is a miss
    run = subprocess.run(
        [sys.executable, "-m", "pytest", str(SCENARIOS), "-k", "test_model_compiles_for_the_device_target",
         "--no-lab-up", "-p", "no:cacheprovider", f"--hil-results={results}",
         "-n", str(len(lab.lab.spec.devices)), "--dist", "loadgroup"],
        capture_output=True, text=True, timeout=RUN_TIMEOUT, env=env, cwd=Path(__file__).parents[2])
    assert run.returncode == 0, run.stdout[-2000:] + run.stderr[-2000:]
    built = [line for line in run.stderr.splitlines() if "compile: building for " in line]
    assert sorted(line.split("building for ")[1].split(":")[0] for line in built) == sorted(targets)
    records = json.loads(results.read_text())["records"]
    assert {(r["device"], r["status"]) for r in records} == {(d.name, "passed") for d in lab.lab.spec.devices}, \
        [(r["device"], r["status"], r["quarantined"] or r["tests"][0]["message"]) for r in records]
    assert {r["facts"]["neo_target"] for r in records} == targets
    assert {r["facts"]["artifact_from"] for r in records} == {"compile cache"}
