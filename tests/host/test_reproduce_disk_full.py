"""`hil reproduce disk-full` on this host (LocalTransport): the device's Python meets ENOSPC on /dev/full, and the
diagnosis names the full disk. Nothing fills up; the reproduction's scratch directory is removed."""

from __future__ import annotations

import sys
from pathlib import Path

from harness.lab.device import Device
from harness.lab.inventory import DeviceSpec
from harness.lab.profiles import load_profiles
from harness.reproduce import reproduce
from harness.transport.local import LocalTransport


def test_disk_full_reproduces_and_is_diagnosed(tmp_path: Path) -> None:
    spec = DeviceSpec(name="host", profile="ml_c4", connection="local://", features={"python": sys.executable})
    device = Device(spec, load_profiles()["ml_c4"], LocalTransport("host"), "local://")
    before = set(Path("/tmp").glob("hil-reproduce.*"))
    result = reproduce("disk-full", device, work=tmp_path)
    assert result.matched and result.diagnosis.failure_class == "disk-full", str(result.diagnosis)
    assert "[Errno 28] No space left on device" in "\n".join(result.diagnosis.evidence)
    assert set(Path("/tmp").glob("hil-reproduce.*")) <= before
