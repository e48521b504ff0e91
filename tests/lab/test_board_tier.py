"""The board tier: the embedded lab's x86_64 emulated core registered as a plain board (ssh://, not
emulated) runs the shipped suites, as a user's board would: its own lab file, its own broker where the
core reaches the host (the lab network's gateway), its certificates installed by `hil lab provision`.

The core already holds the embedded lab's certificates: they are replaced with --force and put back from
the ``.hil-backup`` copies at the end, so the embedded lab is left as it was.
"""

from __future__ import annotations

import json
import os
import shlex
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

from harness.lab.bringup import LabController
from harness.lab.inventory import load_lab
from harness.mqtt.lab import gateway_of
from harness.mqtt.provision import provision

REPO = Path(__file__).resolve().parents[2]
RUN_TIMEOUT = 1500
SELECTION = "compile or deploy or inference or rollback"


@pytest.fixture
def board_file(lab, tmp_path: Path):
    spec = next(d for d in lab.lab.spec.devices if d.emulated and lab.lab.profile_of(d).arch == "x86_64")
    core = lab.device(spec.name)
    gateway = gateway_of(lab.network.attrs(lab.docker_client()))
    path = tmp_path / "board.yaml"
    path.write_text(yaml.safe_dump({"lab": "board-tier", "iot": {"broker_address": gateway}, "devices": [{
        "name": "x86-board", "profile": lab.lab.profile_of(spec).name, "connection": core.connection,
        "emulated": False, "credentials": {"key": str(lab.key_file), "known_hosts": str(lab.known_hosts)}}]}))
    core.transport.close()
    board = LabController(load_lab(path))
    board.up()
    device = board.device("x86-board")
    changes = provision(device, board.iot, board.iot.cores_endpoint(), force=True)
    yield path
    undo = [c.undo for c in changes if c.undo]
    device.transport.check(f"sudo -n sh -c {shlex.quote('; '.join(undo))}", timeout=60, step="undo provision")
    device.transport.close()
    board.iot.stop()


def test_the_x86_core_as_a_board_passes_the_shipped_suites(board_file, tmp_path):
    start = time.monotonic()
    run = subprocess.run([sys.executable, "-m", "harness.cli", "run", "--lab", str(board_file),
                          "--reports", str(tmp_path / "reports"), "--", "-k", SELECTION],
                         capture_output=True, text=True, timeout=RUN_TIMEOUT, cwd=REPO, env=dict(os.environ))
    wall = time.monotonic() - start
    print(f"\nboard tier: hil run -k '{SELECTION}' on x86-board took {wall:.1f} s")
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    (results_path,) = (tmp_path / "reports").glob("*/results.json")
    results = json.loads(results_path.read_text())
    assert results["summary"]["failed"] == 0 and results["summary"]["error"] == 0 and results["summary"]["passed"]
    assert results["lab_health"]["healthy"] is True
    skipped = [t for r in results["records"] for t in r["tests"] if t["status"] == "skipped"]
    # only what cannot apply to a board, or a runtime this board (or this model's framework) does not have
    allowed = ("real board", "needs", "unavailable", "runs the source")
    unexplained = [(t["nodeid"], t["message"]) for t in skipped if not any(a in (t["message"] or "") for a in allowed)]
    assert not unexplained, unexplained
