"""`hil reproduce` end to end on a lab device: the command's exit status and JSON are its contract."""

from __future__ import annotations

import json

from harness.cli import main


def scratch_dirs(device) -> set[str]:
    listing = device.transport.run("ls -d /tmp/hil-reproduce.* 2>/dev/null", timeout=15).stdout
    return set(listing.split())


def test_hil_reproduce_prints_the_matching_diagnosis(device, request, capsys):
    lab = request.config.getoption("--lab")
    before = scratch_dirs(device)
    argv = ["reproduce", "artifact-integrity", "--device", device.name, "--json"] + (["--lab", str(lab)] if lab else [])
    assert main(argv) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["matched"] is True and result["device"] == device.name
    assert result["diagnosis"]["class"] == "artifact-integrity"
    assert "compiled.meta records" in "\n".join(result["diagnosis"]["evidence"])
    assert scratch_dirs(device) <= before, "the reproduction's scratch directory was left on the device"
