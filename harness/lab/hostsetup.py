"""Prepare the controller for emulated cores: Debian packages, binfmt_misc, qemu-aarch64 with flag F.

Idempotent: each step checks before it acts, and says what it did. Without root, a missing piece
is an error that says which command to run.
"""

from __future__ import annotations

import os
import platform
import shutil
from pathlib import Path

from harness.errors import FailureClass, LabError
from harness.primitives.hostcmd import run_controller
from harness.primitives.progress import Say

#: Debian package → a file it installs; the file's presence means "installed".
PACKAGES = {
    "docker.io": "/usr/sbin/dockerd",
    "debootstrap": "/usr/sbin/debootstrap",
    "openssh-client": "/usr/bin/ssh-keygen",
    "iptables": "/usr/sbin/iptables",
}
ARM64_PACKAGES = {
    "qemu-user-static": "/usr/bin/qemu-aarch64-static",
    "binfmt-support": "/usr/sbin/update-binfmts",
}
BINFMT_DIR = Path("/proc/sys/fs/binfmt_misc")
QEMU_AARCH64_ENTRY = BINFMT_DIR / "qemu-aarch64"
# The magic/mask pair Debian's qemu-user-static registers for aarch64 ELF executables.
QEMU_AARCH64_MAGIC = r"\x7fELF\x02\x01\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00\x02\x00\xb7\x00"
QEMU_AARCH64_MASK = r"\xff\xff\xff\xff\xff\xff\xff\x00\xff\xff\xff\xff\xff\xff\xff\xff\xfe\xff\xff\xff"

def _setup_error(detail: str, advice: str) -> LabError:
    return LabError(detail, step="host set-up", failure_class=FailureClass.HOST_SETUP, advice=advice)


def _apt(args: list[str], timeout: float) -> None:
    run_controller(["env", "DEBIAN_FRONTEND=noninteractive", "apt-get", *args], timeout, step="host set-up",
                   failure_class=FailureClass.HOST_SETUP, advice="run the apt-get command by hand to see why")


def missing_packages(need_arm64: bool) -> list[str]:
    wanted = dict(PACKAGES, **(ARM64_PACKAGES if need_arm64 else {}))
    return [pkg for pkg, path in wanted.items() if not Path(path).exists()]


def install_packages(need_arm64: bool, say: Say) -> None:
    missing = missing_packages(need_arm64)
    if not missing:
        return
    if os.geteuid() != 0:
        raise _setup_error(f"missing Debian packages: {' '.join(missing)}",
                           f"sudo apt-get install -y {' '.join(missing)}")
    say(f"installing {' '.join(missing)} (apt-get)")
    _apt(["update", "-qq"], timeout=600)
    _apt(["install", "-y", "-qq", *missing], timeout=1200)


def binfmt_ready() -> bool:
    """True when aarch64 binaries run through qemu with the F (fix-binary) flag set."""
    try:
        entry = QEMU_AARCH64_ENTRY.read_text()
    except OSError:
        return False
    flags = next((line.split(":", 1)[1].strip() for line in entry.splitlines() if line.startswith("flags:")), "")
    return entry.startswith("enabled") and "F" in flags


def register_binfmt(say: Say) -> None:
    """Mount binfmt_misc and register qemu-aarch64 with flag F, so containers need no qemu inside."""
    if platform.machine() == "aarch64" or binfmt_ready():
        return
    if os.geteuid() != 0:
        raise _setup_error("qemu-aarch64 is not registered in binfmt_misc with flag F",
                           "as root: mount -t binfmt_misc binfmt_misc /proc/sys/fs/binfmt_misc, then "
                           "update-binfmts --enable qemu-aarch64")
    if not (BINFMT_DIR / "register").exists():
        say("mounting binfmt_misc")
        run_controller(["mount", "-t", "binfmt_misc", "binfmt_misc", str(BINFMT_DIR)], 30, step="host set-up",
                       failure_class=FailureClass.HOST_SETUP, advice="is this a container without CAP_SYS_ADMIN?")
    if QEMU_AARCH64_ENTRY.exists():
        # Registered without F (or disabled): replace it, the kernel keeps no flag edits.
        QEMU_AARCH64_ENTRY.write_text("-1")
    qemu = shutil.which("qemu-aarch64-static") or ARM64_PACKAGES["qemu-user-static"]
    say("registering qemu-aarch64 in binfmt_misc (flags OCF)")
    line = f":qemu-aarch64:M::{QEMU_AARCH64_MAGIC}:{QEMU_AARCH64_MASK}:{qemu}:OCF"
    (BINFMT_DIR / "register").write_text(line)
    if not binfmt_ready():
        raise _setup_error("qemu-aarch64 registration did not take effect",
                           f"inspect {QEMU_AARCH64_ENTRY} and dmesg")


def needs_arm64_emulation(docker_arches: list[str | None]) -> bool:
    """True when a core of one of ``docker_arches`` runs under qemu-user on this controller."""
    return platform.machine() != "aarch64" and "arm64" in docker_arches


def host_ready(need_arm64: bool) -> bool:
    """True when nothing :func:`prepare_host` would do is missing."""
    return not missing_packages(need_arm64) and (not need_arm64 or binfmt_ready())


def prepare_host(need_arm64: bool, say: Say) -> None:
    install_packages(need_arm64, say)
    if need_arm64:
        register_binfmt(say)
