"""Reproduce a field failure on a lab device for real, and diagnose what it left.

device_run  the device side: one private scratch dir, artifact uploads, one DLR inference
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
from harness.primitives.progress import Say, quiet
from harness.primitives.scratch import scratch_dir
from harness.reproduce.cases import CASES, Context, NotReproducible


@dataclass(frozen=True)
class Reproduction:
    name: str  # the reproduction (a failure class, or a variant such as wrong-target-cpu)
    expected: str  # the failure class its diagnosis must name
    device: str
    diagnosis: Diagnosis

    @property
    def matched(self) -> bool:
        return self.diagnosis.failure_class == self.expected

    def as_dict(self) -> dict[str, object]:
        return {"reproduced": self.name, "expected": self.expected, "device": self.device, "matched": self.matched,
                "diagnosis": self.diagnosis.as_dict()}


def reproduce(name: str, device: Device, *, work: Path | None = None,
              say: Say = quiet) -> Reproduction:
    """Set the failure ``name`` up on ``device``, run it, diagnose the evidence; the device's scratch is removed."""
    if name not in CASES:
        raise HilError(f"unknown failure class {name!r}", step="reproduce", failure_class=FailureClass.INVENTORY,
                       advice=f"use one of: {', '.join(CASES)}")
    expected, case = CASES[name]
    with tempfile.TemporaryDirectory(prefix=f"hil-reproduce-{name}-") as tmp, \
            scratch_dir(device.transport, "reproduce") as remote_dir:
        evidence = case(Context(device, Path(work or tmp), say, remote_dir))
    return Reproduction(name, expected, device.name, diagnose(evidence))


__all__ = ["CASES", "NotReproducible", "Reproduction", "reproduce"]
