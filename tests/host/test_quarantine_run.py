"""Quarantine end to end with host processes: a healthy ``local://`` device (a Python that finds libdlr,
the Greengrass core emulator's nucleus running under its own root) and a board whose port is closed.

The run finishes with the healthy device's results; the closed board's tests are skipped with its
health-check reason, and results.json and ``hil lab check --json`` report both devices.
"""

from __future__ import annotations

import argparse
import json
import socket
import sys
from pathlib import Path

import pytest
import yaml

from harness.health import check_device
from harness.health import cli as health_cli
from harness.lab.bringup import LabController
from harness.lab.inventory import load_lab
from harness.primitives.deadline import poll_until

REPO = Path(__file__).resolve().parents[2]
SUITE = """
def test_answers(device):
    assert device.arch

def test_on_the_host():
    pass
"""
REASON = "board-off quarantined by the lab health check: reachable: [unreachable] cannot connect to hil@127.0.0.1:"


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def lab_file(tmp_path: Path, laid_out_core, python_with_libdlr: Path) -> Path:
    root, start = laid_out_core
    (tmp_path / "known_hosts").write_text("")
    path = tmp_path / "lab.yaml"
    path.write_text(yaml.safe_dump({"lab": "quarantine", "devices": [
        {"name": "here", "profile": "ml_c4", "connection": "local://",
         "features": {"python": str(python_with_libdlr), "greengrass_root": str(root), "sudo": "no"}},
        {"name": "board-off", "profile": "rasp4b", "connection": f"ssh://hil@127.0.0.1:{closed_port()}",
         "credentials": {"known_hosts": str(tmp_path / "known_hosts")}}]}))
    start()
    here = LabController(load_lab(path)).device("here")
    seen: list = []

    def healthy():
        seen.append(check_device(here))
        return seen[-1] if seen[-1].healthy else None

    assert poll_until(healthy, 60, interval=0.5) is not None, seen[-1]
    return path


pytestmark = [pytest.mark.slow, pytest.mark.skipif(
    not (REPO / "simulators" / "greengrass" / "layout.py").is_file(),
    reason="the Greengrass emulator (simulators/greengrass) is not in this tree")]


def run(pytester: pytest.Pytester, lab_file: Path, *args: str) -> pytest.RunResult:
    pytester.makepyfile(test_suite=SUITE)
    return pytester.runpytest_subprocess("-p", "no:cacheprovider", "--lab", str(lab_file), "--no-lab-up", "-rs",
                                         "--hil-results=results.json", *args)


def test_the_working_device_runs_and_the_closed_board_is_quarantined(pytester, lab_file) -> None:
    result = run(pytester, lab_file)
    assert result.ret == pytest.ExitCode.OK, result.stdout.str()[-3000:]
    result.assert_outcomes(passed=2, skipped=1)
    out = result.stdout.str()
    assert "SKIPPED [1] " in out and REASON in out
    results = json.loads((pytester.path / "results.json").read_text())
    health = results["lab_health"]
    durations = {d["name"]: d["duration_s"] for d in health["devices"]}
    print(f"\nhealth check per device: {durations}, lab: {health['duration_s']} s")
    assert health["healthy"] is False and [q["device"] for q in health["quarantined"]] == ["board-off"]
    assert {d["name"]: d["healthy"] for d in health["devices"]} == {"here": True, "board-off": False}
    cells = {(r["device"], r["scenario"]): r for r in results["records"]}
    assert cells[("here", "suite")]["status"] == "passed" and cells[("here", "suite")]["quarantined"] is None
    off = cells[("board-off", "suite")]
    assert off["status"] == "skipped" and off["quarantined"].startswith(REASON)
    assert REASON in off["tests"][0]["message"]

    failing = run(pytester, lab_file, "--fail-on-quarantine")
    assert failing.ret == pytest.ExitCode.TESTS_FAILED
    failing.assert_outcomes(passed=2, skipped=1)
    unchecked = run(pytester, lab_file, "--no-health-check")
    unchecked.assert_outcomes(passed=2, errors=1)  # the closed board errors its test instead


def test_under_xdist_the_controller_checks_once_and_workers_skip_the_quarantined(pytester, lab_file) -> None:
    result = run(pytester, lab_file, "-n", "2", "--dist", "loadgroup")
    assert result.ret == pytest.ExitCode.OK, result.stdout.str()[-3000:]
    result.assert_outcomes(passed=2, skipped=1)
    assert result.stdout.str().count("lab health:") == 1
    results = json.loads((pytester.path / "results.json").read_text())
    assert [q["device"] for q in results["lab_health"]["quarantined"]] == ["board-off"]


def test_hil_lab_check_json_reports_both(lab_file, capsys) -> None:
    parser = argparse.ArgumentParser()
    health_cli.register(parser.add_subparsers())
    args = parser.parse_args(["check", "--json", "--lab", str(lab_file)])
    assert args.func(args) == 1
    document = json.loads(capsys.readouterr().out)
    print(f"\n{[(d['name'], d['duration_s']) for d in document['devices']]}", file=sys.stderr)
    assert [(d["name"], d["healthy"]) for d in document["devices"]] == [("here", True), ("board-off", False)]
    assert [q["device"] for q in document["quarantined"]] == ["board-off"]
    assert document["quarantined"][0]["reason"].startswith(REASON)
