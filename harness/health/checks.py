"""The health checks: each one bounded command on the device, read by ``evaluate``.

A check takes a device (``.name``, ``.transport``, ``.profile``, ``.features``), the thresholds and the
seconds it may use; it returns a verdict, and a transport failure is left to the runner to turn into one.
Greengrass and Python facts come from the device's merged features (``greengrass_root``, ``greengrass_cli``,
``sudo``, ``python``), as everywhere else in the harness.
"""

from __future__ import annotations

import shlex
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Protocol

from harness.greengrass.privilege import cli_invocations, greengrass_root
from harness.health import evaluate
from harness.health.record import HealthVerdict
from harness.lab.device import DEVICE_PYTHON
from harness.lab.profiles import Profile
from harness.ship import ship
from harness.transport.base import Transport

MIB = evaluate.MIB
_REACHED = "hil-health-ok"


class CheckedDevice(Protocol):
    """What the checks need of a device; harness.lab.device.Device is one."""

    @property
    def name(self) -> str: ...
    transport: Transport
    profile: Profile
    features: dict[str, str]


@dataclass(frozen=True)
class HealthLimits:
    """Thresholds and time bounds of a health check (defaults: see docs/health.md)."""

    max_clock_skew_s: float = 2.0
    min_free_greengrass: int = 512 * MIB
    min_free_tmp: int = 512 * MIB
    check_timeout_s: float = 30.0
    device_budget_s: float = 90.0


Check = Callable[[CheckedDevice, HealthLimits, float], HealthVerdict]


def reachable(device: CheckedDevice, limits: HealthLimits, timeout: float) -> HealthVerdict:
    """A trivial command comes back with its output: the link, the login and the shell work."""
    result = device.transport.run(["echo", _REACHED], timeout=timeout)
    if result.ok and _REACHED in result.stdout:
        return HealthVerdict("reachable", True, "answers commands")
    return HealthVerdict("reachable", False, f"`echo` exited {result.exit_status} and printed "
                         f"{evaluate.shown(result.stdout + result.stderr)}",
                         "check the device user's login shell and profile scripts")


def clock(device: CheckedDevice, limits: HealthLimits, timeout: float) -> HealthVerdict:
    """The device's ``date +%s.%N`` between two controller timestamps; the round trip bounds the error."""
    before = time.time()
    result = device.transport.run(["date", "+%s.%N"], timeout=timeout)
    after = time.time()
    return evaluate.evaluate_clock(result.stdout, before, after, limits.max_clock_skew_s)


def arch(device: CheckedDevice, limits: HealthLimits, timeout: float) -> HealthVerdict:
    result = device.transport.run(["uname", "-m"], timeout=timeout)
    return evaluate.evaluate_arch(result.stdout, device.profile.arch)


def cpu(device: CheckedDevice, limits: HealthLimits, timeout: float) -> HealthVerdict:
    """The CPU's features cover what the profile's Neo target compiles for (else: Illegal instruction)."""
    result = device.transport.run("echo @@arch; uname -m; echo @@cpu; "
                                  "grep -m1 -E '^(flags|Features)[[:space:]]*:' /proc/cpuinfo", timeout=timeout)
    return evaluate.evaluate_cpu(result.stdout, device.profile.arch, device.profile.neo_target)


def disk_script(minimum: Mapping[str, int]) -> str:
    """``df -Pk`` of each path, or of its nearest existing parent (where it would be created)."""
    lines = []
    for path in minimum:
        q = shlex.quote(path)
        lines.append(f"d={q}; while [ ! -d \"$d\" ]; do d=$(dirname \"$d\"); done; "
                     f"echo \"@@\"{q}\" $d\"; df -Pk \"$d\" 2>&1")
    return "\n".join(lines)


def disk(device: CheckedDevice, limits: HealthLimits, timeout: float) -> HealthVerdict:
    root = greengrass_root(device.features)
    if not root.startswith("/") or any(c in root for c in "\n "):
        return HealthVerdict("disk", False, f"greengrass_root {root!r} is not an absolute path",
                             "fix the device's greengrass_root feature")
    minimum = {root: limits.min_free_greengrass, "/tmp": limits.min_free_tmp}
    if root == "/tmp":
        minimum = {root: max(limits.min_free_greengrass, limits.min_free_tmp)}
    result = device.transport.run(disk_script(minimum), timeout=timeout)
    return evaluate.evaluate_disk(result.stdout, minimum)


def greengrass(device: CheckedDevice, limits: HealthLimits, timeout: float) -> HealthVerdict:
    """``greengrass-cli component list``, with sudo where the device needs it: nucleus up and CLI usable."""
    direct, via_sudo = cli_invocations(device.features)
    args = ["component", "list"]
    if via_sudo is None:
        script = shlex.join([*direct, *args])
    else:
        script = (f"if [ \"$(id -u)\" = 0 ]; then echo @@root; exec {shlex.join([*direct, *args])}; "
                  f"else echo @@sudo; exec {shlex.join([*via_sudo, *args])}; fi")
    result = device.transport.run(script, timeout=timeout)
    stdout = result.stdout
    used = direct
    if via_sudo is not None:
        marker, _, stdout = stdout.partition("\n")
        used = via_sudo if marker == "@@sudo" else direct
    return evaluate.evaluate_greengrass(result.exit_status, stdout, result.stderr, used)


def dlr(device: CheckedDevice, limits: HealthLimits, timeout: float) -> HealthVerdict:
    """DLR loads on the device's interpreter, found the way the wrapper finds it, without ``import dlr``."""
    python = device.features.get("python") or DEVICE_PYTHON
    probe = ship(device.transport).argv(python, "dlr_probe")
    result = device.transport.run(f"{shlex.join(probe)} 2>&1 | tail -n 3", timeout=timeout)
    return evaluate.evaluate_dlr(result.stdout, python, device.profile.runtime.dlr_abi)


#: In order: nothing else is worth asking of a device that does not answer.
CHECKS: tuple[tuple[str, Check], ...] = (
    ("reachable", reachable), ("clock", clock), ("arch", arch), ("cpu", cpu), ("disk", disk),
    ("greengrass", greengrass), ("dlr", dlr))
