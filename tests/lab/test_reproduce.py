"""`hil reproduce` end to end on a lab device: the command's exit status and JSON are its contract."""

from __future__ import annotations

import json

import pytest

from harness.cli import main


@pytest.mark.arch("x86_64")
def test_hil_reproduce_prints_the_matching_diagnosis(device, request, capsys):
    lab = request.config.getoption("--lab")
    argv = ["reproduce", "artifact-integrity", "--device", device.name, "--json"] + (["--lab", str(lab)] if lab else [])
    assert main(argv) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["matched"] is True and result["device"] == device.name
    assert result["diagnosis"]["class"] == "artifact-integrity"
    assert "compiled.meta records" in "\n".join(result["diagnosis"]["evidence"])
    leftover = device.transport.run(["test", "-e", "/tmp/hil-reproduce"], timeout=15)
    assert leftover.exit_status == 1, "the reproduction's scratch directory was left on the device"
