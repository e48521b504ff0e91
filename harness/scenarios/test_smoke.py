"""Smoke: every device answers over its transport and is the device type its profile says."""

from __future__ import annotations

import re

import pytest

from harness.lab.device import Device


def test_device_answers_as_its_profile_says(device: Device, record_property: pytest.RecordProperty) -> None:
    facts = device.transport.check(
        "uname -m; uname -r; . /etc/os-release && echo \"$PRETTY_NAME\"; "
        "awk '/MemTotal/ {print $2}' /proc/meminfo; nproc", step="smoke").stdout.splitlines()
    machine, kernel, os_name, mem_kb, cpus = facts[:5]
    for key, value in (("arch", machine), ("kernel", kernel), ("os", os_name), ("cpus", cpus)):
        record_property(key, value)
    assert machine == device.profile.arch, f"{device.name}: uname -m says {machine}, profile {device.profile.name} " \
                                           f"says {device.profile.arch}"
    assert int(mem_kb) > 0 and int(cpus) >= 1


def test_emulated_core_has_its_profile_limits(device: Device) -> None:
    if not device.emulated:
        pytest.skip(f"{device.name} is a real board: its limits are its hardware")
    limit = device.transport.check("cat /sys/fs/cgroup/memory.max 2>/dev/null || "
                                   "cat /sys/fs/cgroup/memory/memory.limit_in_bytes", step="cgroup").stdout.strip()
    assert re.fullmatch(r"\d+", limit), f"{device.name}: no memory limit in the core's cgroup ({limit!r})"
    assert int(limit) == device.profile.limits.memory_mb * 1024 * 1024
