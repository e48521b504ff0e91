"""The measurement lock across processes (as pytest-xdist workers hold it): turns, and a bounded wait."""

from __future__ import annotations

import subprocess
import sys
import time

import pytest

from harness.bench.lock import measurement_lock
from harness.errors import CommandTimeout

HOLDER = """
import sys, time
from harness.bench.lock import measurement_lock
with measurement_lock(sys.argv[1], timeout=60) as hold:
    time.sleep(0.3)
print(hold.acquired, hold.released)
"""


def test_processes_measuring_on_the_same_host_take_turns(tmp_path, monkeypatch):
    monkeypatch.setenv("HIL_STATE_DIR", str(tmp_path))
    procs = [subprocess.Popen([sys.executable, "-c", HOLDER, "controller"], stdout=subprocess.PIPE, text=True)
             for _ in range(3)]
    spans = sorted(tuple(map(float, p.communicate(timeout=60)[0].split())) for p in procs)
    assert all(p.returncode == 0 for p in procs)
    for (_, end), (start, _) in zip(spans, spans[1:], strict=False):
        assert start >= end, f"holds overlap: {spans}"


def test_a_busy_lock_times_out_with_a_typed_error(tmp_path, monkeypatch):
    monkeypatch.setenv("HIL_STATE_DIR", str(tmp_path))
    holder = subprocess.Popen([sys.executable, "-c", HOLDER.replace("0.3", "1.5"), "controller"],
                              stdout=subprocess.PIPE, text=True)
    try:
        lock_file = tmp_path / "locks" / "measure-controller.lock"
        for _ in range(200):
            if lock_file.exists() and lock_file.read_text():
                break
            time.sleep(0.02)
        with pytest.raises(CommandTimeout) as info, measurement_lock("controller", timeout=0.2, device="pi"):
            pass
        assert info.value.step == "measure lock" and info.value.device == "pi"
    finally:
        holder.communicate(timeout=30)
