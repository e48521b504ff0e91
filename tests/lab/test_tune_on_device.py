"""`hil tune --device`: candidates timed on a lab core through TVM RPC, then applied by `hil compile`.

A tiny model (tests/any_models.py ``vibration``: two tasks) and a tiny budget: 2 trials (a batch of one
per task) and a 1 s time budget that ends the search after the first batch, so one task is tuned and the
other stays on the default schedule; a run costs MetaSchedule's fixed overhead (builder and runner pools,
the cost model) plus the server's start. The x86_64 core runs natively on this host; the
arm64 core runs under qemu-user and is refused unless ``allow_emulated``.
"""

from __future__ import annotations

import json
import platform
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

from harness.compile.api import compile_model
from harness.compile.errors import CompileError
from harness.compile.rpc_tune import QEMU_REASON
from harness.compile.tune import tune_model
from tests.any_models import vibration

CONFIG = {"vibration": [1, 256]}
TINY = {"trials": 2, "time_budget": 1.0}


def _records(database: Path) -> list[list]:
    lines = (database / "database_tuning_record.json").read_text().splitlines()
    return [json.loads(line) for line in lines if line.strip()]


def _no_server_left(device) -> None:
    left = device.transport.run("ps -eo args | grep 'tvm[.]exec[.]rpc_server'; ls -d /tmp/hil-rpc.* 2>/dev/null",
                                timeout=30)
    assert left.stdout.strip() == "", left.stdout


@pytest.mark.profile("ml_c4")
def test_tiny_tune_through_rpc_is_applied_by_compile(device, tmp_path: Path) -> None:
    model, root = vibration(tmp_path / "vibration.onnx"), tmp_path / "tuning"
    lines: list[str] = []
    result = tune_model(model, "ml_c4", CONFIG, root=root, device=device, progress=lines.append, **TINY)
    assert result.tasks == 2 and result.tuned_now == 1 and result.trials >= 1
    # Seconds measured on the core; a candidate that failed to run is recorded with MetaSchedule's 1e9.
    assert any(0 < r[1][1][0] < 1.0 for r in _records(result.database))
    assert any("registered" in line and device.name in line for line in lines)
    _no_server_left(device)

    out = subprocess.run([sys.executable, "-m", "harness.cli", "compile", str(model), "--target", "ml_c4",
                          "--input-config", json.dumps(CONFIG), "-o", str(tmp_path / "tuned"), "--tuning-db",
                          str(root), "--cache-dir", str(tmp_path / "cache")],
                         capture_output=True, text=True, timeout=600, check=False)
    assert out.returncode == 0, out.stderr
    assert "compile: 1 tasks tuned, 1 on the default schedule" in out.stderr
    meta = json.loads((tmp_path / "tuned" / "compiled.meta").read_text())
    assert meta["tuning"]["tuned_tasks"] == 1 and meta["tuning"]["default_tasks"] == 1


@pytest.mark.profile("rasp4b")
def test_qemu_core_is_refused_without_the_flag(device, tmp_path: Path) -> None:
    if not device.emulated or device.arch == platform.machine():
        pytest.skip(f"{device.name} does not run under qemu here")
    with pytest.raises(CompileError) as info:
        tune_model(tmp_path / "never-read.onnx", "rasp4b", CONFIG, root=tmp_path / "tuning", device=device, **TINY)
    assert info.value.device == device.name and QEMU_REASON in info.value.detail
    assert not (tmp_path / "tuning").exists()


@pytest.mark.profile("rasp4b")
def test_qemu_core_tunes_as_a_functional_check_when_allowed(device, tmp_path: Path) -> None:
    """Cross-compiled aarch64 candidates, loaded and timed by the core's staged runtime-only TVM."""
    model = vibration(tmp_path / "vibration.onnx")
    result = tune_model(model, "rasp4b", CONFIG, root=tmp_path / "tuning", device=device, allow_emulated=True,
                        **TINY)
    assert result.tuned_now == 1 and result.trials >= 1 and result.database.name.startswith("cortex-a72-")
    assert any(0 < r[1][1][0] < 1.0 for r in _records(result.database))
    _no_server_left(device)
    artifact = compile_model(model, "rasp4b", CONFIG, tmp_path / "tuned", tuning_db=tmp_path / "tuning",
                             cache_dir=tmp_path / "cache")
    assert artifact.meta.tuning is not None and artifact.meta.tuning.tuned_tasks == 1


def _broken(device, python: str):
    """``device`` as a lab file that names ``python`` as its interpreter."""
    from harness.lab.device import Device

    spec = device.spec.model_copy(update={"features": {**device.spec.features, "python": python}})
    broken = Device(spec, device.profile, device.transport, device.connection)
    broken.__dict__["arch"] = device.arch
    return broken


@pytest.mark.profile("ml_c4")
def test_a_missing_interpreter_stops_the_tune_before_any_server(device, tmp_path: Path) -> None:
    """A board whose lab file names a missing ``python``: the first step on the device (counting its cores)
    fails; the error names the device and the step and quotes the shell, and no server was started."""
    from harness.errors import TransportError

    with pytest.raises(TransportError) as info:
        tune_model(vibration(tmp_path / "vibration.onnx"), "ml_c4", CONFIG, root=tmp_path / "tuning",
                   device=_broken(device, "/nonexistent/python3"), **TINY)
    err = info.value
    assert err.device == device.name and err.step == "count cores"
    assert "/nonexistent/python3" in err.detail
    _no_server_left(device)


@pytest.mark.profile("ml_c4")
def test_a_server_that_cannot_start_is_a_typed_error_and_leaves_nothing(device, tmp_path: Path) -> None:
    """An interpreter that ignores PYTHONPATH (``python -E``, as hardened images run it) counts the cores but
    cannot import the staged TVM runtime: the server exits before registering; the error names the device and
    the step and quotes the server's log."""
    from harness.errors import TransportError

    work = device.transport.check("mktemp -d /tmp/hil-test-python.XXXXXXXX", timeout=30).stdout.strip()
    wrapper = f"{work}/python3"
    device.transport.check(f"printf '#!/bin/sh\\nexec %s -E \"$@\"\\n' {shlex.quote(device.python)}"
                           f" > {shlex.quote(wrapper)} && chmod 755 {shlex.quote(wrapper)}", timeout=30)
    try:
        with pytest.raises(TransportError) as info:
            tune_model(vibration(tmp_path / "vibration.onnx"), "ml_c4", CONFIG, root=tmp_path / "tuning",
                       device=_broken(device, wrapper), **TINY)
    finally:
        device.transport.check(f"rm -rf {shlex.quote(work)}", timeout=30)
    err = info.value
    assert err.device == device.name and err.step == "rpc server start"
    assert "exited before registering" in err.detail and "No module named" in err.detail
    _no_server_left(device)
