"""Whole runs on one labgrid place, as separate processes: a real coordinator and exporter on 127.0.0.1 whose
NetworkService is a private OpenSSH server (the "board"), pytest sessions with the hil plugin holding the place,
and `hil run` on the same lab file.

- SIGTERM (what CI runners and ``timeout`` send) and SIGINT of a run in the middle of a test: the place is free
  again, asked of the coordinator with labgrid's own client, and the session wrote its report (pytest's
  interrupted path, exit 2).
- A session whose device test fails releases the place at its end.
- Under xdist (one worker per device, as `hil run` runs a lab of several) SIGTERM of the controller alone
  releases every place its workers hold.
- A second `hil run` on a held place waits its ``wait_s``, then quarantines the device "locked by USER since
  TIME" without touching the board; the holder keeps the place all along.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

from harness.primitives.deadline import poll_until
from harness.transport.labgrid_client import place_info
from tests.host.labgrid_lab import Coordinator, interruptible, labgrid_lab
from tests.host.sshd import start_sshd

ROOT = Path(__file__).resolve().parents[2]
PLACE = "bench-01"
PLACES = {"board-a": PLACE, "board-b": "bench-02"}
WAIT_S = 3.0
HOLDING = """
import os, time
from pathlib import Path

def test_holds_the_board(device):
    (Path(os.environ["HIL_HOLDING"]) / device.name).write_text(device.arch)
    time.sleep(300)
"""
FAILING = """
def test_fails_on_the_board(device):
    assert device.transport.run(["false"]).ok
"""


@pytest.fixture(scope="module")
def bench(tmp_path_factory):
    """(coordinator, lab file): places `bench-01` and `bench-02` export the private sshd; the lab file's one
    device, `board`, names `bench-01`; ``lab2.yaml`` has `board-a` and `board-b` on one place each."""
    root = tmp_path_factory.mktemp("labgrid-runs")
    sshd = start_sshd(root / "sshd")
    try:
        known_hosts = root / "known_hosts"
        known_hosts.write_text(sshd.host_key_line + "\n")
        service = {"address": "127.0.0.1", "username": sshd.user, "port": sshd.port}
        groups = {place.replace("-", ""): place for place in PLACES.values()}
        with labgrid_lab(root / "lg", dict.fromkeys(groups, service)) as coordinator:
            for group, place in groups.items():
                coordinator.add_place(place, "exp1", group)

            def device(name: str, place: str) -> dict:
                return {"name": name, "profile": "ml_c4",
                        "labgrid": {"place": place, "coordinator": coordinator.address, "wait_s": WAIT_S},
                        "credentials": {"key": str(sshd.client_key), "known_hosts": str(known_hosts)}}

            (root / "lab2.yaml").write_text(yaml.safe_dump({"lab": "places2", "devices": [
                device(name, place) for name, place in PLACES.items()]}))
            lab_file = root / "lab.yaml"
            lab_file.write_text(yaml.safe_dump({"lab": "places", "devices": [device("board", PLACE)]}))
            yield coordinator, lab_file
    finally:
        sshd.stop()


@pytest.fixture
def free_place(bench):
    coordinator, lab_file = bench
    yield coordinator, lab_file
    for place in PLACES.values():  # a failed test leaves the next free places
        coordinator.client("-p", place, "release", "--kick", check=False)


def _holder(coordinator: Coordinator, place: str = PLACE) -> str | None:
    info = place_info(coordinator.address, place, "board")
    return None if info.holder is None else info.holder.user


def _env(user: str, **extra: str) -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": str(ROOT), "LG_USERNAME": user, **extra}


def _session(tmp: Path, lab_file: Path, suite: str, user: str, *args: str) -> subprocess.Popen[str]:
    """pytest with the hil plugin (as `hil run` runs it) on ``suite``, in its own process group like a CI step."""
    (tmp / "test_suite.py").write_text(suite)
    (tmp / "holding").mkdir()
    argv = [sys.executable, "-m", "pytest", str(tmp / "test_suite.py"), "-p", "no:cacheprovider", "-q",
            "--lab", str(lab_file), "--no-lab-up", "--no-health-check", f"--hil-results={tmp / 'results.json'}",
            f"--junitxml={tmp / 'junit.xml'}", *args]
    return subprocess.Popen(argv, cwd=tmp, env=_env(user, HIL_HOLDING=str(tmp / "holding")), text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True,
                            preexec_fn=interruptible)


def _holding(tmp: Path, coordinator: Coordinator, lab_file: Path, user: str, places: dict[str, str] | None = None,
             *args: str) -> subprocess.Popen[str]:
    """A session in the middle of its test on each device of ``places``, each place held by ``user``."""
    places = places or {"board": PLACE}
    run = _session(tmp, lab_file, HOLDING, user, *args)
    inside = lambda: all((tmp / "holding" / d).exists() for d in places) or run.poll() is not None  # noqa: E731
    if poll_until(inside, 90, interval=0.2) is None or run.poll() is not None:
        run.kill()
        pytest.fail(f"the session never got into its tests:\n{run.communicate()[0][-3000:]}")
    for name, place in places.items():  # each reached its board through its place's NetworkService
        assert (tmp / "holding" / name).read_text() == "x86_64"
        assert _holder(coordinator, place) == user
    return run


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_a_signalled_run_releases_its_place_and_writes_its_report(free_place, tmp_path, sig):
    coordinator, lab_file = free_place
    run = _holding(tmp_path, coordinator, lab_file, "carol")
    signalled = time.monotonic()
    run.send_signal(sig)
    out, _ = run.communicate(timeout=60)
    ended = time.monotonic() - signalled
    print(f"\n{sig.name}: the session ended and released {PLACE} {ended:.2f} s after the signal")
    assert run.returncode == pytest.ExitCode.INTERRUPTED, out[-3000:]
    assert _holder(coordinator) is None, out[-3000:]
    assert ended < 20, f"the session took {ended:.1f} s to end"
    # pytest's own interrupted path, for SIGTERM too (its banner names the exception)
    assert ("KeyboardInterrupt" if sig == signal.SIGINT else "Terminated: SIGTERM: ending the session") in out
    json.loads((tmp_path / "results.json").read_text())  # the report was written on the way out
    assert (tmp_path / "junit.xml").is_file()


def test_sigterm_of_an_xdist_run_releases_the_places_its_workers_hold(free_place, tmp_path):
    coordinator, lab_file = free_place
    run = _holding(tmp_path, coordinator, lab_file.with_name("lab2.yaml"), "erin", PLACES, "-n", "2", "--dist",
                   "loadgroup")
    signalled = time.monotonic()
    run.send_signal(signal.SIGTERM)  # the controller only: xdist ends its workers, they tear their sessions down
    out, _ = run.communicate(timeout=60)
    ended = time.monotonic() - signalled
    print(f"\nSIGTERM of the xdist controller: both places released {ended:.2f} s after the signal")
    assert run.returncode == pytest.ExitCode.INTERRUPTED, out[-3000:]
    assert [_holder(coordinator, place) for place in PLACES.values()] == [None, None], out[-3000:]
    assert ended < 30, f"the session took {ended:.1f} s to end"


def test_a_failing_session_releases_its_place(free_place, tmp_path):
    coordinator, lab_file = free_place
    run = _session(tmp_path, lab_file, FAILING, "dave")
    out, _ = run.communicate(timeout=120)
    assert run.returncode == pytest.ExitCode.TESTS_FAILED, out[-3000:]
    assert "1 failed" in out
    assert _holder(coordinator) is None


def test_a_second_run_on_a_held_place_waits_then_quarantines_the_device(free_place, tmp_path):
    coordinator, lab_file = free_place
    (tmp_path / "first").mkdir()
    first = _holding(tmp_path / "first", coordinator, lab_file, "alice")
    try:
        reports = tmp_path / "reports"
        started = time.monotonic()
        second = subprocess.run([sys.executable, "-m", "harness.cli", "run", "--lab", str(lab_file), "--reports",
                                 str(reports), "--", "--no-lab-up", "-k", "smoke and board"],
                                cwd=tmp_path, env=_env("bob"), text=True, capture_output=True, timeout=300)
        took = time.monotonic() - started
        print(f"\nsecond hil run on a held place (wait_s {WAIT_S:g}): quarantined, run took {took:.1f} s")
        assert second.returncode == 6, second.stdout[-3000:] + second.stderr[-3000:]  # EXIT_QUARANTINED
        assert _holder(coordinator) == "alice" and first.poll() is None  # the first run kept the place throughout
        (run_dir,) = reports.iterdir()
        results = json.loads((run_dir / "results.json").read_text())
        (quarantine,) = results["lab_health"]["quarantined"]
        assert quarantine["device"] == "board"
        assert f"labgrid place {PLACE} locked by alice since 20" in quarantine["reason"]
        assert f"(waited {WAIT_S:g} s)" in quarantine["reason"]
        cells = [r for r in results["records"] if r["device"] == "board"]
        assert cells and all(c["quarantined"] and "locked by alice since" in c["quarantined"] for c in cells)
        assert took >= WAIT_S
    finally:
        first.send_signal(signal.SIGTERM)
        first.communicate(timeout=60)
    assert _holder(coordinator) is None
