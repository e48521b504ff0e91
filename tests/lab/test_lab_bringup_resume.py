"""A bring-up killed between any two states resumes from the last one reached.

`hil lab up` of a scratch lab (one amd64 core, lab name `resume`) runs in a subprocess that is
SIGKILLed as soon as its state.json shows the state under test; the next `hil lab up` must say it
resumes from that state and leave a lab whose core answers `hil exec`.
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

from harness.lab.paths import SOURCE_ROOT, state_dir
from harness.lab.state import LabState

LAB_NAME = "resume"
UP_TIMEOUT = 900.0
ATTEMPTS = 3  # the state under test lasts milliseconds at its shortest; the kill may land one state late


def _hil(*args: str, timeout: float = UP_TIMEOUT) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "harness.cli", *args], capture_output=True, text=True,
                          timeout=timeout, cwd=SOURCE_ROOT)


@pytest.fixture(scope="module")
def lab_file(tmp_path_factory, lab):  # `lab` first: the engine is up and the core image is built
    path = tmp_path_factory.mktemp("resume") / "resume.yaml"
    path.write_text(yaml.safe_dump({"lab": LAB_NAME, "devices": [
        {"name": "core-r", "profile": "ml_c4", "emulated": True}]}))
    yield path
    _hil("lab", "down", "--lab", str(path), timeout=300)  # this lab only; the shared lab stays up


def _recorded(state_file: Path) -> str:
    try:
        return json.loads(state_file.read_text())["state"]
    except (OSError, ValueError, KeyError):
        return "down"


def _up_killed_at(lab_file: Path, state: LabState, log: Path) -> str:
    """Start `hil lab up`, SIGKILL it when state.json first shows ``state``; the state it recorded."""
    state_file = state_dir() / "labs" / LAB_NAME / "state.json"
    with open(log, "w") as err:
        proc = subprocess.Popen([sys.executable, "-m", "harness.cli", "lab", "up", "--lab", str(lab_file)],
                                stdout=subprocess.DEVNULL, stderr=err, cwd=SOURCE_ROOT)
        deadline = time.monotonic() + UP_TIMEOUT
        try:
            while proc.poll() is None and time.monotonic() < deadline and _recorded(state_file) != state:
                time.sleep(0.001)
        finally:
            if proc.poll() is None:
                os.kill(proc.pid, signal.SIGKILL)
            proc.wait(timeout=30)
    return _recorded(state_file)


@pytest.mark.parametrize("state", [LabState.HOST_READY, LabState.ENGINE_UP, LabState.IMAGES_READY,
                                   LabState.DEVICES_UP])
def test_a_bring_up_killed_at_a_state_resumes_from_it(lab_file, state, tmp_path):
    recorded = None
    for attempt in range(ATTEMPTS):
        down = _hil("lab", "down", "--lab", str(lab_file), timeout=300)
        assert down.returncode == 0, down.stderr[-2000:]
        recorded = _up_killed_at(lab_file, state, tmp_path / f"killed-{attempt}.log")
        if recorded == state:
            break
    assert recorded == state, f"the bring-up never stopped at {state} in {ATTEMPTS} tries (last: {recorded})"

    resumed = _hil("lab", "up", "--lab", str(lab_file))
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    assert f"lab {LAB_NAME}: resuming from {state}" in resumed.stderr
    assert f"lab {LAB_NAME} is ready" in resumed.stderr
    uname = _hil("exec", "--lab", str(lab_file), "core-r", "--", "uname", "-m", timeout=60)
    assert (uname.returncode, uname.stdout) == (0, "x86_64\n"), uname.stderr

    again = _hil("lab", "up", "--lab", str(lab_file))  # a lab that is up is only verified
    assert again.returncode == 0, again.stderr[-3000:]
    assert f"lab {LAB_NAME}: resuming from ready" in again.stderr
    assert "starting" not in again.stderr and "building" not in again.stderr
