"""Run a Neo artifact through libdlr's C API with ``dlr_probe``: natively, or under qemu-user for aarch64.

No Python is needed on the target side, so an aarch64 libdlr can be exercised on an x86_64 host
(``qemu-aarch64-static -L /usr/aarch64-linux-gnu``) before any arm64 core or board exists.
"""

from __future__ import annotations

import json
import os
import platform
import shutil
import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path

from harness.errors import FailureClass
from harness.primitives import arch as arches
from harness.primitives.hostcmd import run_controller
from harness.primitives.progress import Say
from harness.runtime.build import build_libdlr, say_stderr
from harness.runtime.wheels import RuntimeBuildError

PROBE_TIMEOUT = 300.0


def sysroot(arch: str) -> Path:
    """Debian's cross sysroot of ``arch`` (``/usr/aarch64-linux-gnu``): qemu-user finds ld.so, libc there."""
    return Path("/usr") / arches.arch(arch).gnu


def probe_command(arch: str, probe: Path) -> list[str]:
    """argv prefix that executes the ``arch`` binary ``probe`` on this host."""
    if arch == platform.machine():
        return [str(probe)]
    qemu = shutil.which(f"qemu-{arch}-static") or shutil.which(f"qemu-{arch}")
    root = sysroot(arch)
    if qemu is None or not root.is_dir():
        raise RuntimeBuildError(f"cannot run {arch} code on this {platform.machine()} host", step="libdlr probe",
                                advice=f"apt-get install qemu-user-static {arches.arch(arch).cxx_package}")
    return [qemu, "-L", str(root), str(probe)]


def run_probe(arch: str, model_dir: Path | str, inputs: Mapping[str, Sequence[int]], *,
              runtime: str = "tvm-0.27", say: Say = say_stderr) -> dict:
    """Load ``model_dir`` with the ``arch``/``runtime`` libdlr, run it once on a fixed input pattern and
    return ``{"version", "backend", "output0"}``; a DLR failure raises with libdlr's own message."""
    with tempfile.TemporaryDirectory(prefix="dlr-probe-") as tmp:
        lib = build_libdlr(arch, runtime, tmp, probe=True, say=say).parent
        argv = probe_command(arch, lib / "dlr_probe") + [str(model_dir)]
        argv += [f"{name}:{'x'.join(str(d) for d in shape)}" for name, shape in inputs.items()]
        out = run_controller(argv, PROBE_TIMEOUT, step="libdlr probe", failure_class=FailureClass.COMMAND,
                             error=RuntimeBuildError,
                             env={"QEMU_CPU": os.environ.get("QEMU_CPU", "cortex-a72")})
    return json.loads(out)
