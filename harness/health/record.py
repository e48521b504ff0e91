"""What a health check leaves behind: one verdict per check, a device's health, a quarantine.

In LAVA's model a device is healthy or it is not, and the reason is a product: a quarantined device's
tests are reported as not run, with the failed checks' reasons, instead of failing one by one.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime


@dataclass(frozen=True)
class HealthVerdict:
    """One check on one device: passed or not, what was seen, what to do, how long it took."""

    name: str
    ok: bool
    detail: str
    advice: str | None = None
    duration_s: float = 0.0

    def as_dict(self) -> dict[str, object]:
        return {"name": self.name, "ok": self.ok, "detail": self.detail, "advice": self.advice,
                "duration_s": round(self.duration_s, 3)}


@dataclass(frozen=True)
class Quarantine:
    """A device taken out of a run: which checks failed and why, and when that was decided."""

    device: str
    failed: tuple[HealthVerdict, ...]
    at: datetime

    @property
    def reason(self) -> str:
        """One line for a skipped test: ``quarantined by the lab health check: clock: …; disk: …``."""
        parts = "; ".join(f"{v.name}: {v.detail}" for v in self.failed)
        return f"{self.device} quarantined by the lab health check: {parts}"

    def as_dict(self) -> dict[str, object]:
        return {"device": self.device, "at": self.at.isoformat(timespec="seconds"),
                "failed": [v.as_dict() for v in self.failed], "reason": self.reason}


@dataclass(frozen=True)
class DeviceHealth:
    """Every check run on one device, in order, and their total wall time."""

    name: str
    checks: tuple[HealthVerdict, ...]
    duration_s: float
    at: datetime = field(default_factory=lambda: datetime.now(UTC))

    @property
    def healthy(self) -> bool:
        return bool(self.checks) and all(v.ok for v in self.checks)

    @property
    def quarantine(self) -> Quarantine | None:
        """The quarantine record of an unhealthy device, None for a healthy one."""
        if self.healthy:
            return None
        failed = tuple(v for v in self.checks if not v.ok)
        if not failed:  # no check ran at all
            failed = (HealthVerdict("reachable", False, "no check ran"),)
        return Quarantine(self.name, failed, self.at)

    def as_dict(self) -> dict[str, object]:
        return {"name": self.name, "healthy": self.healthy, "duration_s": round(self.duration_s, 3),
                "checks": [v.as_dict() for v in self.checks]}


@dataclass(frozen=True)
class LabHealth:
    """The health of every device asked, in the lab file's order, and the wall time of asking them all."""

    devices: tuple[DeviceHealth, ...]
    duration_s: float

    @property
    def quarantined(self) -> dict[str, Quarantine]:
        """Device name → its quarantine, for every unhealthy device."""
        return {d.name: q for d in self.devices if (q := d.quarantine) is not None}

    @property
    def exit_status(self) -> int:
        """0 when every device is healthy, 1 when any is quarantined."""
        return 1 if self.quarantined else 0

    def as_dict(self) -> dict[str, object]:
        """The document ``hil lab check --json`` prints and a run's lab-health section holds."""
        return {"healthy": not self.quarantined, "duration_s": round(self.duration_s, 3),
                "devices": [d.as_dict() for d in self.devices],
                "quarantined": [q.as_dict() for q in self.quarantined.values()]}
