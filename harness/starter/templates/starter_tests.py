"""Example device tests written by `hil init`: each runs once per device of lab.yaml (ids = device names).

The `device` fixture brings the lab up on first use and hands each test a reachable device; markers
choose devices (`arch`, `profile`, `feature`), and a device that does not match is skipped with the reason.
"""

import pytest


def test_device_is_the_machine_its_profile_names(device):
    """The device answers over its transport, and `uname -m` on it matches its profile."""
    assert device.arch == device.profile.arch


@pytest.mark.arch("aarch64")
def test_arm64_device_has_neon(device):
    """Neo's ARM targets use NEON (Advanced SIMD, `asimd` in /proc/cpuinfo on arm64)."""
    cpuinfo = device.transport.check(["cat", "/proc/cpuinfo"], timeout=30).stdout
    assert "asimd" in cpuinfo.split()


def test_device_has_dlr(device):
    """The device's interpreter imports the DLR runtime that runs Neo-compiled models."""
    script = "import dlr, sys; sys.stdout.write(dlr.__version__)"
    version = device.transport.check([device.python, "-c", script], timeout=300).stdout
    assert version.split(".")[0].isdigit(), version
