"""Typed errors: every failure names the device, the step and the failure class.

A tired engineer reads ``str(error)``; it must say what failed, why, and what to do,
without a traceback. Callers catch by class; reports group by ``failure_class``.
"""

from __future__ import annotations

from enum import StrEnum


class FailureClass(StrEnum):
    """Why a step failed, in words a report can group by: the one vocabulary of typed errors,
    diagnoses (harness.diagnose), results.json and junit.xml's ``hil.class`` property."""

    TIMEOUT = "timeout"
    UNREACHABLE = "unreachable"
    AUTH = "auth"
    HOST_KEY = "host-key"
    TRANSFER = "transfer"
    COMMAND = "command"
    INVENTORY = "inventory"
    ENGINE = "engine"
    IMAGE = "image"
    HOST_SETUP = "host-setup"
    INPUT_CONFIG = "input-config"
    UNSUPPORTED_OPERATOR = "unsupported-operator"
    COMPILE = "compile"
    ARTIFACT = "artifact"
    WRONG_TARGET = "wrong-target"
    RUNTIME_MISMATCH = "runtime-mismatch"
    DEPLOYMENT = "deployment"
    BUDGET = "budget"
    DISK_FULL = "disk-full"  # a typed error (harness.greengrass.errors.DeviceDiskFull) and a diagnosis
    # Diagnoses only: what the evidence of a failure shows (docs/diagnose.md).
    OUT_OF_MEMORY = "out-of-memory"
    MISSING_DEPENDENCY = "missing-dependency"
    DEPLOYMENT_PLATFORM = "deployment-platform"
    ARTIFACT_INTEGRITY = "artifact-integrity"
    UNKNOWN = "unknown"
    # Reports only: a failing test that raised no typed error.
    ASSERTION = "assertion"
    UNEXPECTED = "unexpected"  # followed by the exception's type: "unexpected KeyError"
    UNCLASSIFIED = "unclassified"


class HilError(Exception):
    """Base of every error the harness raises on purpose."""

    failure_class: FailureClass = FailureClass.COMMAND

    def __init__(
        self,
        detail: str,
        *,
        device: str | None = None,
        step: str | None = None,
        failure_class: FailureClass | None = None,
        advice: str | None = None,
    ) -> None:
        self.detail = detail
        self.device = device
        self.step = step
        if failure_class is not None:
            self.failure_class = failure_class
        self.advice = advice
        super().__init__(str(self))

    def __str__(self) -> str:
        where = ": ".join(p for p in (self.device, self.step) if p)
        head = f"{where}: " if where else ""
        text = f"{head}[{self.failure_class}] {self.detail}"
        if self.advice:
            text += f"\n  advice: {self.advice}"
        return text


class TransportError(HilError):
    """A command or transfer could not be carried out on a device."""

    failure_class = FailureClass.COMMAND


class CommandTimeout(TransportError):
    failure_class = FailureClass.TIMEOUT


class DeviceUnreachable(TransportError):
    failure_class = FailureClass.UNREACHABLE


class AuthenticationFailed(TransportError):
    failure_class = FailureClass.AUTH


class HostKeyMismatch(TransportError):
    failure_class = FailureClass.HOST_KEY


class TransferError(TransportError):
    failure_class = FailureClass.TRANSFER


class InventoryError(HilError):
    """The lab file, a profile or an IDT device.json is invalid; nothing was changed."""

    failure_class = FailureClass.INVENTORY


class LabError(HilError):
    """Bringing the lab up or down failed (host set-up, engine, images, containers)."""

    failure_class = FailureClass.ENGINE
