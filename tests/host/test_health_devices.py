"""Health checks on real devices of this host: a ``local://`` device, a board that refuses connections
(OpenSSH client over paramiko to a closed port on 127.0.0.1), and the project's Greengrass core emulator
laid out under a temporary root and driven through its ``bin/greengrass-cli``, as a real core is.
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import time
from dataclasses import replace
from pathlib import Path

import pytest
import yaml

from harness.health import CHECKS, HealthLimits, check_device, check_lab
from harness.health import cli as health_cli
from harness.lab.bringup import LabController
from harness.lab.inventory import load_lab
from harness.primitives.deadline import poll_until

REPO = Path(__file__).resolve().parents[2]
#: The system interpreter: no dlr installed, so the DLR check has a known reason to fail.
NO_DLR_PYTHON = "/usr/bin/python3"
UNREACHABLE_BOUND = 15.0


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def lab_file(tmp_path: Path) -> Path:
    """One working device (this host) and one board whose port refuses connections."""
    known_hosts = tmp_path / "known_hosts"
    known_hosts.write_text("")
    path = tmp_path / "boards.yaml"
    path.write_text(yaml.safe_dump({"lab": "boards", "devices": [
        {"name": "here", "profile": "ml_c4", "connection": "local://", "features": {"python": NO_DLR_PYTHON}},
        {"name": "board-off", "profile": "rasp4b", "connection": f"ssh://hil@127.0.0.1:{closed_port()}",
         "credentials": {"known_hosts": str(known_hosts)}}]}))
    return path


def by_name(health):
    return {d.name: d for d in health.devices}


@pytest.mark.skipif(not Path(NO_DLR_PYTHON).exists(), reason=f"{NO_DLR_PYTHON} is not installed")
def test_local_device_passes_what_this_host_has_and_the_closed_port_is_quarantined(lab_file):
    start = time.monotonic()
    health = check_lab(LabController(load_lab(lab_file)))
    elapsed = time.monotonic() - start
    devices = by_name(health)
    here, off = devices["here"], devices["board-off"]
    print(f"\nhere: {here.duration_s:.2f} s, board-off: {off.duration_s:.2f} s, lab: {elapsed:.2f} s")

    assert [v.name for v in here.checks] == [name for name, _ in CHECKS]
    passed = {v.name for v in here.checks if v.ok}
    assert {"reachable", "clock", "arch", "cpu", "disk"} <= passed, here
    verdicts = {v.name: v for v in here.checks}
    assert "the Greengrass CLI cannot be run: `/greengrass/v2/bin/greengrass-cli`" in verdicts["greengrass"].detail
    assert verdicts["dlr"].detail == f"DLR is not usable from {NO_DLR_PYTHON}: the dlr Python package is not installed"
    assert [v.name for v in here.quarantine.failed] == ["greengrass", "dlr"]

    assert [v.name for v in off.checks] == ["reachable"]
    assert "[unreachable] cannot connect to hil@127.0.0.1:" in off.checks[0].detail
    assert off.quarantine.reason.startswith("board-off quarantined by the lab health check: reachable: [unreachable]")
    assert off.duration_s < UNREACHABLE_BOUND and elapsed < UNREACHABLE_BOUND + here.duration_s
    assert health.exit_status == 1 and set(health.quarantined) == {"here", "board-off"}


def test_hil_lab_check_json_reports_both(lab_file, capsys):
    parser = argparse.ArgumentParser()
    health_cli.register(parser.add_subparsers())
    args = parser.parse_args(["check", "--json", "--lab", str(lab_file)])
    status = args.func(args)
    document = json.loads(capsys.readouterr().out)
    assert status == 1 and document["healthy"] is False
    assert [d["name"] for d in document["devices"]] == ["here", "board-off"]
    assert [q["device"] for q in document["quarantined"]] == ["here", "board-off"]
    args = parser.parse_args(["check", "--lab", str(lab_file), "board-off"])
    assert args.func(args) == 1
    table = capsys.readouterr().out
    assert "board-off" in table and "here" not in table and "FAIL reachable" in table


def test_thresholds_and_the_profile_decide(lab_file):
    controller = LabController(load_lab(lab_file))
    device = controller.device("here")
    free = os.statvfs("/tmp")
    above = free.f_bavail * free.f_frsize * 4  # far more than /tmp has
    disk = {v.name: v for v in check_device(device, HealthLimits(min_free_tmp=above)).checks}["disk"]
    assert not disk.ok and "/tmp has" in disk.detail and f"below {above / (1 << 20):.0f} MiB" in disk.detail
    arm = replace(device, profile=controller.lab.profiles["rasp4b"])
    verdicts = {v.name: v for v in check_device(arm).checks}
    assert not verdicts["arch"].ok and verdicts["arch"].detail == "the device is x86_64, its profile says aarch64"
    assert not verdicts["cpu"].ok and verdicts["cpu"].detail.startswith("not compared: the device is x86_64")


def test_a_spent_budget_fails_every_check_as_not_run(lab_file):
    device = LabController(load_lab(lab_file)).device("here")
    health = check_device(device, HealthLimits(device_budget_s=0.0))
    assert len(health.checks) == len(CHECKS) and not health.healthy
    assert all(v.detail.startswith("not run: the device's 0 s health budget") for v in health.checks)


@pytest.mark.slow
@pytest.mark.skipif(not (REPO / "simulators" / "greengrass" / "layout.py").is_file(),
                    reason="the Greengrass emulator (simulators/greengrass) is not in this tree")
def test_greengrass_check_tells_a_stopped_nucleus_from_a_running_one(lab_file, laid_out_core):
    root, start = laid_out_core
    device = LabController(load_lab(lab_file)).device("here")
    device = replace(device, spec=device.spec.model_copy(
        update={"features": {**device.spec.features, "greengrass_root": str(root), "sudo": "no"}}))

    def greengrass():
        return {v.name: v for v in check_device(device).checks}["greengrass"]

    stopped = greengrass()
    assert not stopped.ok
    assert stopped.detail.startswith("the nucleus is not running or the CLI cannot reach it"), stopped
    start()
    seen: list = []

    def answered():
        seen.append(greengrass())
        return seen[-1] if seen[-1].ok else None

    running = poll_until(answered, 30, interval=0.3)
    assert running is not None, seen[-1]
    print(f"\n{running.detail} ({running.duration_s:.2f} s)")
    assert running.detail.startswith("the CLI answers:")
