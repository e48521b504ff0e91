"""Bring-up edge cases on a scratch lab of its own, so the shared lab stays untouched."""

import json
import subprocess
import sys

import pytest
import yaml

from harness.errors import LabError
from harness.lab.bringup import LabController, LabState
from harness.lab.inventory import load_lab


@pytest.fixture
def scratch(tmp_path, lab):  # `lab` first: the engine and images are up and cached
    lab_file = tmp_path / "scratch.yaml"
    lab_file.write_text(yaml.safe_dump({"lab": "scratch", "devices": [
        {"name": "core-a", "profile": "ml_c4", "emulated": True}]}))
    controller = LabController(load_lab(lab_file))
    controller.up()
    yield controller, lab_file
    controller.down()


def test_up_is_idempotent_and_reaches_ready(scratch):
    controller, _ = scratch
    controller.up()
    assert controller.state is LabState.READY
    assert controller.status()[0]["reachable"] is True


def test_stopped_container_is_unreachable_with_a_reason(scratch):
    controller, lab_file = scratch
    controller.docker_client().containers.get("hil-scratch-core-a").stop(timeout=1)
    row = controller.status()[0]
    assert row["reachable"] is False
    assert "hil-scratch-core-a is not running" in row["error"]
    out = subprocess.run([sys.executable, "-m", "harness.cli", "lab", "status", "--json", "--lab", str(lab_file)],
                         capture_output=True, text=True, timeout=60)
    assert out.returncode == 1
    document = json.loads(out.stdout)
    assert set(document["devices"][0]) == {"name", "connection", "arch", "profile", "reachable", "error"}
    assert document["devices"][0]["reachable"] is False
    controller.up()  # a stopped core comes back, its nucleus answering (up() checks it)
    assert controller.status()[0]["reachable"] is True


def test_a_core_whose_nucleus_is_down_is_named_and_a_restart_brings_it_back(scratch):
    controller, _ = scratch
    spec = controller.lab.device("core-a")
    container = controller.docker_client().containers.get("hil-scratch-core-a")
    killed = container.exec_run(["pkill", "-TERM", "-f", "simulators.greengrass.supervisor"], user="root")
    assert killed.exit_code == 0, killed.output
    with pytest.raises(LabError) as err:
        for _ in range(50):  # the supervisor stops the nucleus within its stop grace
            controller.cores.check_nucleus(spec, controller.lab.profile_of(spec))
    assert (err.value.device, err.value.step) == ("core-a", "nucleus start")
    assert "the nucleus is not running" in err.value.detail and "loader.log" in (err.value.advice or "")
    # Restarted over and over, the core starts its nucleus every time, whatever its last start left behind
    # (a pid file of an earlier start once named the start script's own `grep`, and the nucleus never started).
    for _ in range(3):
        container.restart(timeout=2)
        controller.up()
        controller.cores.check_nucleus(spec, controller.lab.profile_of(spec))


def test_status_json_and_exec_through_the_cli(scratch):
    _, lab_file = scratch
    out = subprocess.run([sys.executable, "-m", "harness.cli", "lab", "status", "--json", "--lab", str(lab_file)],
                         capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    row = json.loads(out.stdout)["devices"][0]
    assert (row["name"], row["arch"], row["reachable"], row["error"]) == ("core-a", "x86_64", True, None)
    run = subprocess.run([sys.executable, "-m", "harness.cli", "exec", "--lab", str(lab_file), "core-a", "--",
                          "sh", "-c", "echo hi; exit 5"], capture_output=True, text=True, timeout=60)
    assert (run.returncode, run.stdout) == (5, "hi\n")


def test_a_lab_can_use_an_engine_the_user_runs(tmp_path, lab):
    """`engine: {host: ...}`: no private engine is started for it, and `down` leaves that engine running."""
    lab_file = tmp_path / "own-engine.yaml"
    lab_file.write_text(yaml.safe_dump({"lab": "ownengine", "engine": {"host": lab.engine_url}, "devices": [
        {"name": "core-b", "profile": "ml_c4", "emulated": True}]}))
    controller = LabController(load_lab(lab_file))
    assert controller.engine_url == lab.engine_url
    controller.up()
    try:
        assert controller.status()[0]["reachable"] is True
    finally:
        controller.down()
    assert controller.docker_client().ping()  # the user's engine is still up
    assert lab.status()[0]["reachable"] is True
