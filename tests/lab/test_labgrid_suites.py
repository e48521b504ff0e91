"""The shipped suites through a labgrid place: the embedded lab's x86_64 core, exported as the NetworkService
of place `core4` by a real labgrid exporter, coordinator started here, and `hil run` on a lab file that names
only the place (no connection). The harness acquires the place, reaches the core over its own SSH transport
(the lab's key and known_hosts) and releases it when the run ends.

As in the board tier (test_board_tier.py) the core gets a broker on the lab network's gateway and is
provisioned for it (``--force``; the embedded lab's certificates are put back from the backups at the end).
The run takes a fast subset of the suites (SELECTION) to stay within the lab tier's budget; the board tier runs
compile, deploy, inference and rollback in full. While it runs, `hil lab status` shows the place, its exporter
and the run's lock; afterwards the place is free.
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
from harness.primitives.deadline import poll_until
from harness.transport.hostspec import parse_hostspec
from harness.transport.labgrid_client import place_info
from tests.host.labgrid_lab import labgrid_lab

REPO = Path(__file__).resolve().parents[2]
CORE = "ml-c4-emu"
PLACE = "core4"
USER = "ci-labgrid"
RUN_TIMEOUT = 600
SELECTION = "smoke or test_components_reach_running or test_published_outputs or test_dlr_matches"


@pytest.fixture
def place_file(lab, tmp_path: Path):
    """A lab file whose one device, `board`, is the labgrid place `core4`; the core provisioned for its broker."""
    core = parse_hostspec(lab.device(CORE).connection)
    gateway = gateway_of(lab.network.attrs(lab.docker_client()))
    with labgrid_lab(tmp_path / "labgrid", {PLACE: {"address": core.host, "username": "hil", "port": 22}}) as lg:
        lg.add_place(PLACE, "exp1", PLACE)
        path = tmp_path / "places.yaml"
        path.write_text(yaml.safe_dump({"lab": "labgrid-places", "iot": {"broker_address": gateway}, "devices": [{
            "name": "board", "profile": "ml_c4",
            "labgrid": {"place": PLACE, "coordinator": lg.address, "wait_s": 30},
            "credentials": {"key": str(lab.key_file), "known_hosts": str(lab.known_hosts)}}]}))
        places = LabController(load_lab(path))
        places.up()
        device = places.device("board")
        try:
            changes = provision(device, places.iot, places.iot.cores_endpoint(), force=True)
        finally:
            device.transport.close()  # releases the place for the run
        try:
            yield lg, path
        finally:
            undo = [c.undo for c in changes if c.undo]
            device = places.device("board")
            try:
                device.transport.check(f"sudo -n sh -c {shlex.quote('; '.join(undo))}", timeout=60,
                                       step="undo provision")
            finally:
                device.transport.close()
                places.iot.stop()


def _holder(address: str) -> str | None:
    info = place_info(address, PLACE, "board")
    return None if info.holder is None else info.holder.user


def test_the_shipped_suites_run_through_a_labgrid_place(place_file, tmp_path):
    lg, path = place_file
    env = {**os.environ, "PYTHONPATH": str(REPO), "LG_USERNAME": USER}
    start = time.monotonic()
    run = subprocess.Popen([sys.executable, "-m", "harness.cli", "run", "--lab", str(path),
                            "--reports", str(tmp_path / "reports"), "--", "-k", SELECTION],
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, cwd=REPO, env=env)
    try:
        held = poll_until(lambda: _holder(lg.address) == USER or run.poll() is not None or None, RUN_TIMEOUT,
                          interval=0.5)
        status = subprocess.run([sys.executable, "-m", "harness.cli", "lab", "status", "--lab", str(path), "--json"],
                                env={**env, "LG_USERNAME": "observer"}, capture_output=True, text=True, timeout=120)
        out, _ = run.communicate(timeout=RUN_TIMEOUT)
    finally:
        if run.poll() is None:
            run.kill()
    wall = time.monotonic() - start
    print(f"\nlabgrid place: hil run -k '{SELECTION}' on board (place {PLACE}) took {wall:.1f} s")
    assert held and run.returncode == 0, out[-4000:]
    (row,) = json.loads(status.stdout)["devices"]
    assert row["place"]["exporters"] == ["exp1"] and row["place"]["address"].startswith("hil@"), row
    assert row["place"]["locked_by"].startswith(f"locked by {USER} since 20"), row  # the run's lock, shown
    assert _holder(lg.address) is None  # released at the end of the run
    (results_path,) = (tmp_path / "reports").glob("*/results.json")
    results = json.loads(results_path.read_text())
    summary = results["summary"]
    assert summary["failed"] == 0 and summary["error"] == 0 and summary["passed"] >= 4, summary
    assert results["lab_health"]["healthy"] is True
    assert {r["device"] for r in results["records"]} - {"(host)"} == {"board"}
    assert {r["scenario"] for r in results["records"]} >= {"smoke", "deploy", "inference"}
