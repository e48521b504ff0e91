"""The rollback scenario's Startup health check, run by a real shell against stand-in inference scripts."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from harness.scenarios.faults import HEALTH_CHECKED_STARTUP, SYMPTOM

SCRIPTS = {  # what the inference script prints on its first cycle, then it keeps running
    "healthy": 'print("2026-01-01T00:00:00 inference image=a.png top1=4 score=0.6 ms=1.5 published on t", flush=True)',
    "no image": 'print("2026-01-01T00:00:00 skipping image: /x/a.png: not found", flush=True)',
    "broker down": 'print("2026-01-01T00:00:00 inference image=a.png top1=4 score=0.6 ms=1.5 NOT published on t", '
                   'flush=True)',
    "silent": "pass",
    "dies": "raise SystemExit(3)",
}


def start(tmp_path: Path, behaviour: str, within: int = 20) -> tuple[subprocess.Popen, Path]:
    work, artifacts = tmp_path / "work", tmp_path / "artifacts"
    work.mkdir()
    artifacts.mkdir()
    (artifacts / "component.py").write_text(f"import time\n{SCRIPTS[behaviour]}\ntime.sleep(60)\n")
    command = f"{sys.executable} {{artifacts:path}}/component.py"  # the Run command, as faults.broken takes it
    script = (HEALTH_CHECKED_STARTUP.format(command=command, within=within)
              .replace("{work:path}", str(work)).replace("{artifacts:path}", str(artifacts)))
    out = tmp_path / "out.log"
    env = {"PATH": os.environ["PATH"], "HIL_MODEL_DIR": "/m", "HIL_ACCELERATOR": "cpu", "HIL_IMAGE_DIR": "/x",
           "HIL_IMAGE_NAME": "a.png", "HIL_INFERENCE_INTERVAL": "2", "HIL_RESULTS_TOPIC": "t"}
    with open(out, "wb") as fh:
        proc = subprocess.Popen(["/bin/sh", "-c", script], stdout=fh, stderr=subprocess.STDOUT, env=env,
                                cwd=work, start_new_session=True)
    return proc, out


def finish(proc: subprocess.Popen, timeout: float) -> int:
    try:
        return proc.wait(timeout)
    finally:
        try:
            os.killpg(proc.pid, signal.SIGKILL)  # the background script and tail, as the nucleus would
        except ProcessLookupError:
            pass


def test_a_published_result_passes_and_leaves_the_script_running(tmp_path):
    proc, out = start(tmp_path, "healthy")
    try:
        assert proc.wait(30) == 0
        os.kill(int((tmp_path / "work" / "inference.pid").read_text()), 0)  # still running: no error
    finally:
        finish(proc, 5)
    assert "health check passed" in out.read_text()


@pytest.mark.parametrize("behaviour", ["no image", "broker down", "dies"])
def test_a_first_cycle_without_a_result_fails_at_once(tmp_path, behaviour):
    started = time.monotonic()
    proc, out = start(tmp_path, behaviour, within=60)
    assert finish(proc, 30) == 1
    assert SYMPTOM["health"] in out.read_text()
    assert time.monotonic() - started < 15  # well before the 60 s bound


def test_silence_fails_at_the_bound(tmp_path):
    started = time.monotonic()
    proc, out = start(tmp_path, "silent", within=2)
    assert finish(proc, 30) == 1
    assert f"{SYMPTOM['health']} after 2 s" in out.read_text()
    assert 2 <= time.monotonic() - started < 15
