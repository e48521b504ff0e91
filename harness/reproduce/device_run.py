"""The device side of a reproduction: a scratch directory, an artifact upload, one DLR inference, the
cgroup's OOM-kill count. Everything lives under /tmp/hil-reproduce on the device and is removed after."""

from __future__ import annotations

import re
import shlex
import uuid
from collections.abc import Sequence
from pathlib import Path

from harness.errors import FailureClass, HilError
from harness.lab.device import Device
from harness.transport.base import CommandResult

REMOTE_ROOT = "/tmp/hil-reproduce"
#: python + numpy + the TVM runtime start slowly under qemu-user (arm64 cores): allow for it.
RUN_TIMEOUT = 240.0
STEP_TIMEOUT = 60.0

# Runs on the device: what an application does through the DLR Python API, with zeros of the given shape and dtype.
DLR_SCRIPT = """
import sys
import numpy as np
import dlr
shape = tuple(int(n) for n in sys.argv[2].split(","))
m = dlr.DLRModel(sys.argv[1], "cpu", 0)
y = m.run({m.get_input_names()[0]: np.zeros(shape, dtype=sys.argv[3])})[0]
print("output", list(y.shape))
"""

# Cgroup v2 memory.events, else v1 memory.oom_control: both count the kernel's OOM kills in this cgroup.
OOM_KILLS = ("cat /sys/fs/cgroup/memory.events 2>/dev/null || cat /sys/fs/cgroup/memory/memory.oom_control "
             "2>/dev/null || true")
MEMORY_LIMIT = ("cat /sys/fs/cgroup/memory.max 2>/dev/null || cat /sys/fs/cgroup/memory/memory.limit_in_bytes "
                "2>/dev/null || true")


def run_dir() -> str:
    """A directory of its own for one reproduction: parallel runs on one device (xdist) never share one."""
    return f"{REMOTE_ROOT}/{uuid.uuid4().hex[:12]}"


def clean(device: Device, remote_dir: str) -> None:
    """Remove one reproduction's directory, and the root when it is the last one."""
    device.transport.run(["sh", "-c", f"rm -rf {shlex.quote(remote_dir)}; rmdir {REMOTE_ROOT} 2>/dev/null; true"],
                         timeout=STEP_TIMEOUT)


def upload(device: Device, artifact_dir: Path, remote: str) -> str:
    """Copy a model directory to ``remote`` (emptied first), which must lie under REMOTE_ROOT."""
    if not remote.startswith(f"{REMOTE_ROOT}/") or "/.." in remote:
        raise HilError(f"{remote!r} is not under {REMOTE_ROOT}", device=device.name, step="reproduce: upload",
                       failure_class=FailureClass.INVENTORY)
    device.transport.check(["sh", "-c", f"rm -rf {shlex.quote(remote)} && mkdir -p {shlex.quote(remote)}"],
                           timeout=STEP_TIMEOUT, step="reproduce: scratch dir")
    device.transport.put_dir(artifact_dir, remote, timeout=120)
    return remote


def run_dlr(device: Device, model_dir: str, shape: Sequence[int], *, dtype: str = "float32") -> CommandResult:
    """One inference through the unmodified dlr wrapper; the result as it came (a failure is the point)."""
    return device.transport.run([device.python, "-c", DLR_SCRIPT, model_dir, ",".join(str(n) for n in shape), dtype],
                                timeout=RUN_TIMEOUT)


def oom_kills(device: Device) -> int | None:
    text = device.transport.run(["sh", "-c", OOM_KILLS], timeout=STEP_TIMEOUT).stdout
    m = re.search(r"^oom_kill (\d+)$", text, re.M)
    return int(m[1]) if m else None


def memory_limit(device: Device) -> int | None:
    """The core's cgroup memory limit in bytes (None: unlimited or unreadable)."""
    text = device.transport.run(["sh", "-c", MEMORY_LIMIT], timeout=STEP_TIMEOUT).stdout.strip()
    return int(text) if text.isdigit() and int(text) < 1 << 50 else None
