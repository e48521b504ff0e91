"""Run the health checks: one device within its time budget, or many at once, or a whole lab.

A device is healthy when every check passes; otherwise its ``quarantine`` says which failed and why. An
unreachable device stops after the first check: the rest would only repeat the connection error.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from typing import Any, TypeVar

from harness.errors import FailureClass, HilError
from harness.health.checks import CHECKS, CheckedDevice, HealthLimits
from harness.health.record import DeviceHealth, HealthVerdict, LabHealth
from harness.primitives.deadline import Timeout

#: Devices checked at once, as `hil lab status` asks them.
CHECK_THREADS = 16
DEFAULT_LIMITS = HealthLimits()
T = TypeVar("T")


def _failed(name: str, exc: BaseException) -> HealthVerdict:
    if isinstance(exc, HilError):
        return HealthVerdict(name, False, f"[{exc.failure_class}] {exc.detail}", exc.advice)
    return HealthVerdict(name, False, f"{type(exc).__name__}: {exc}"[:300])


def check_device(device: CheckedDevice, limits: HealthLimits = DEFAULT_LIMITS) -> DeviceHealth:
    """Every check on ``device``, each bounded by ``limits.check_timeout_s`` and all by ``device_budget_s``.

    Never raises for a device fault: a timeout, a refused connection or a crashed check is a failed verdict.
    """
    budget = Timeout(limits.device_budget_s)
    verdicts: list[HealthVerdict] = []
    for name, check in CHECKS:
        if budget.expired:
            verdicts.append(HealthVerdict(name, False, f"not run: the device's {limits.device_budget_s:g} s health "
                                          "budget was spent by the checks before it",
                                          "the device is slow or wedged: look at its load and its link"))
            continue
        start = time.monotonic()
        try:
            verdict = check(device, limits, min(limits.check_timeout_s, budget.remaining))
        except Exception as exc:  # noqa: BLE001 - a health check reports every fault as a verdict
            verdict = _failed(name, exc)
        verdicts.append(replace(verdict, duration_s=time.monotonic() - start))
        if name == "reachable" and not verdict.ok:
            break
    return DeviceHealth(device.name, tuple(verdicts), budget.elapsed)


def check_devices(devices: Sequence[CheckedDevice], limits: HealthLimits = DEFAULT_LIMITS, *,
                  threads: int = CHECK_THREADS) -> LabHealth:
    """All ``devices`` at once (``threads`` at a time); the result keeps their order."""
    return _at_once(devices, lambda d: check_device(d, limits), threads)


def _at_once(items: Sequence[T], one: Callable[[T], DeviceHealth], threads: int) -> LabHealth:
    start = time.monotonic()
    if not items:
        return LabHealth((), 0.0)
    with ThreadPoolExecutor(max_workers=min(len(items), threads)) as pool:
        results = tuple(pool.map(one, items))
    return LabHealth(results, time.monotonic() - start)


def check_lab(controller: Any, names: Sequence[str] | None = None, limits: HealthLimits = DEFAULT_LIMITS, *,
              threads: int = CHECK_THREADS) -> LabHealth:
    """The lab's devices (``names``, default all) through a ``LabController``, each on a transport of its own.

    A device the controller cannot even hand out (an emulated core that is not running, an engine that is
    down) is unhealthy with that reason; transports opened here are closed here.
    """
    wanted = list(names) if names is not None else [spec.name for spec in controller.lab.spec.devices]

    def one(name: str) -> DeviceHealth:
        opened = time.monotonic()
        try:
            device = controller.device(name)
        except Exception as exc:  # noqa: BLE001 - the engine's own errors included
            verdict = replace(_failed("reachable", exc), duration_s=time.monotonic() - opened)
            if not isinstance(exc, HilError):
                verdict = replace(verdict, detail=f"[{FailureClass.ENGINE}] {verdict.detail}")
            return DeviceHealth(name, (verdict,), verdict.duration_s)
        try:
            return check_device(device, limits)
        finally:
            device.transport.close()

    return _at_once(wanted, one, threads)
