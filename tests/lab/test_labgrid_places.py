"""The embedded lab's x86_64 core as a labgrid place: a real coordinator and exporter on 127.0.0.1 whose
NetworkService is the core's SSH address (user hil, port 22); the harness's SSH transport checks its host key
against the lab's known_hosts. Acquire, run a command, release; a second run sees "locked by"."""

from __future__ import annotations

import getpass
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from harness.lab.bringup import LabController
from harness.lab.inventory import load_lab
from harness.primitives.progress import quiet
from harness.transport.hostspec import parse_hostspec
from harness.transport.labgrid_client import place_info
from tests.host.labgrid_lab import labgrid_lab

ROOT = Path(__file__).resolve().parents[2]
CORE = "ml-c4-emu"


@pytest.fixture(scope="module")
def place_lab(lab, tmp_path_factory):
    """A lab file with one device, `board`, behind the labgrid place `core4` that exports the x86 core."""
    core = parse_hostspec(lab.device(CORE).connection)
    root = tmp_path_factory.mktemp("labgrid-core")
    with labgrid_lab(root, {"core4": {"address": core.host, "username": "hil", "port": 22}}) as coordinator:
        coordinator.add_place("core4", "exp1", "core4")
        lab_file = root / "lab.yaml"
        lab_file.write_text(yaml.safe_dump({"lab": "places", "devices": [{
            "name": "board", "profile": "ml_c4",
            "labgrid": {"place": "core4", "coordinator": coordinator.address, "wait_s": 3},
            "credentials": {"key": str(lab.keys.key_file), "known_hosts": str(lab.keys.known_hosts)}}]}))
        yield coordinator, lab_file


def _holder(coordinator):
    info = place_info(coordinator.address, "core4", "board")
    return None if info.holder is None else info.holder.user


def _status(lab_file: Path, user: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "LG_USERNAME": user}
    return subprocess.run([sys.executable, "-m", "harness.cli", "lab", "status", "--lab", str(lab_file), "--json"],
                          env=env, capture_output=True, text=True, timeout=120)


def test_acquire_run_a_command_and_release(place_lab):
    coordinator, lab_file = place_lab
    controller = LabController(load_lab(lab_file), quiet)
    device = controller.device("board")
    try:
        assert device.arch == "x86_64"
        assert device.transport.check(["id", "-un"]).stdout.strip() == "hil"
        assert _holder(coordinator) == os.environ.get("LG_USERNAME", getpass.getuser())
        other = _status(lab_file, "alice")  # another user's run: the place is shown as locked, not touched
        row = json.loads(other.stdout)["devices"][0]
        assert other.returncode == 1 and not row["reachable"]
        assert "labgrid place core4 locked by " in row["error"] and row["place"]["exporters"] == ["exp1"]
    finally:
        device.transport.close()
    assert _holder(coordinator) is None


def test_status_of_a_free_place_reaches_the_board_and_releases(place_lab):
    coordinator, lab_file = place_lab
    done = _status(lab_file, "alice")
    row = json.loads(done.stdout)["devices"][0]
    assert done.returncode == 0, done.stderr
    assert (row["reachable"], row["arch"], row["place"]["locked_by"]) == (True, "x86_64", None)
    assert row["place"]["address"].startswith("hil@") and row["place"]["address"].endswith(":22")
    assert _holder(coordinator) is None
