"""Reproduce a field failure on a lab device for real, and diagnose what it left.

device_run  the device side: scratch dirs under /tmp/hil-reproduce, artifact upload, one DLR inference
cases       one reproduction per failure class (wrong-target, runtime-mismatch, ...)
cli         `hil reproduce CLASS --device NAME [--lab FILE] [--json]`
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass
from pathlib import Path

from harness.diagnose import Diagnosis, diagnose
from harness.errors import FailureClass, HilError
from harness.lab.device import Device
from harness.reproduce import device_run
from harness.reproduce.cases import CASES, Context, Say


@dataclass(frozen=True)
class Reproduction:
    expected: str
    device: str
    diagnosis: Diagnosis

    @property
    def matched(self) -> bool:
        return self.diagnosis.failure_class == self.expected

    def as_dict(self) -> dict[str, object]:
        return {"expected": self.expected, "device": self.device, "matched": self.matched,
                "diagnosis": self.diagnosis.as_dict()}


def reproduce(failure_class: str, device: Device, *, work: Path | None = None,
              say: Say = lambda _line: None) -> Reproduction:
    """Set ``failure_class`` up on ``device``, run it, diagnose the evidence; the device's scratch is removed."""
    case = CASES.get(failure_class)
    if case is None:
        raise HilError(f"unknown failure class {failure_class!r}", step="reproduce",
                       failure_class=FailureClass.INVENTORY, advice=f"use one of: {', '.join(CASES)}")
    with tempfile.TemporaryDirectory(prefix=f"hil-reproduce-{failure_class}-") as tmp:
        try:
            evidence = case(Context(device, Path(work or tmp), say))
        finally:
            device_run.clean(device)
    return Reproduction(failure_class, device.name, diagnose(evidence))


__all__ = ["CASES", "Reproduction", "reproduce"]
