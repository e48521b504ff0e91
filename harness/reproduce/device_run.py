"""The device side of a reproduction: its scratch directory, artifact uploads, one DLR inference, the
cgroup's OOM-kill count. Everything a reproduction stages lives in one private scratch directory
(harness.primitives.scratch), removed after; the scripts it runs are harness.ondevice's, shipped once."""

from __future__ import annotations

import posixpath
import re
from collections.abc import Sequence
from pathlib import Path

from harness.errors import FailureClass, HilError
from harness.lab.device import Device
from harness.ship import ship
from harness.transport.base import CommandResult

#: python + numpy + the TVM runtime start slowly under qemu-user (arm64 cores): allow for it.
RUN_TIMEOUT = 240.0
STEP_TIMEOUT = 60.0
UPLOAD_TIMEOUT = 120.0

# Cgroup v2 memory.events, else v1 memory.oom_control: both count the kernel's OOM kills in this cgroup.
OOM_KILLS = ("cat /sys/fs/cgroup/memory.events 2>/dev/null || cat /sys/fs/cgroup/memory/memory.oom_control "
             "2>/dev/null || true")
MEMORY_LIMIT = ("cat /sys/fs/cgroup/memory.max 2>/dev/null || cat /sys/fs/cgroup/memory/memory.limit_in_bytes "
                "2>/dev/null || true")


def upload(device: Device, artifact_dir: Path, scratch: str, name: str) -> str:
    """Copy a model directory to ``scratch/name`` (a fresh subdirectory of the reproduction's scratch)."""
    if not re.fullmatch(r"[a-z0-9-]+", name):
        raise HilError(f"{name!r} is not a plain directory name", device=device.name, step="reproduce: upload",
                       failure_class=FailureClass.INVENTORY)
    remote = posixpath.join(scratch, name)
    device.transport.check(["mkdir", "--", remote], timeout=STEP_TIMEOUT, step="reproduce: scratch dir")
    device.transport.put_dir(artifact_dir, remote, timeout=UPLOAD_TIMEOUT)
    return remote


def run_device_script(device: Device, module: str, *args: str, timeout: float = RUN_TIMEOUT) -> CommandResult:
    """Run a harness.ondevice module with the device's Python; the result as it came (a failure is the point)."""
    return device.transport.run(ship(device.transport).argv(device.python, module, *args), timeout=timeout)


def run_dlr(device: Device, model_dir: str, shape: Sequence[int], *, dtype: str = "float32") -> CommandResult:
    """One inference on zeros through the unmodified dlr wrapper (harness/ondevice/dlr_run.py)."""
    return run_device_script(device, "dlr_run", model_dir, "--zeros", ",".join(str(n) for n in shape), dtype)


def oom_kills(device: Device) -> int | None:
    text = device.transport.run(["sh", "-c", OOM_KILLS], timeout=STEP_TIMEOUT).stdout
    m = re.search(r"^oom_kill (\d+)$", text, re.M)
    return int(m[1]) if m else None


def memory_limit(device: Device) -> int | None:
    """The core's cgroup memory limit in bytes (None: unlimited or unreadable)."""
    text = device.transport.run(["sh", "-c", MEMORY_LIMIT], timeout=STEP_TIMEOUT).stdout.strip()
    return int(text) if text.isdigit() and int(text) < 1 << 50 else None
