"""A lab's health for people (a console table) and for tools (the JSON of ``hil lab check --json``)."""

from __future__ import annotations

import json

from harness.health.record import LabHealth


def to_json(health: LabHealth) -> str:
    return json.dumps(health.as_dict(), indent=2)


def table(health: LabHealth) -> str:
    """One line per device; under a quarantined one, each failed check with its advice."""
    width = max((len(d.name) for d in health.devices), default=6)
    lines = [f"{'DEVICE':<{width}}  {'HEALTH':<11}  {'TIME':>7}  CHECKS"]
    for device in health.devices:
        state = "healthy" if device.healthy else "QUARANTINED"
        passed = " ".join(v.name for v in device.checks if v.ok) or "-"
        lines.append(f"{device.name:<{width}}  {state:<11}  {device.duration_s:>6.2f}s  ok: {passed}")
        for verdict in device.checks:
            if not verdict.ok:
                lines.append(f"{'':<{width}}    FAIL {verdict.name}: {verdict.detail}")
                if verdict.advice:
                    lines.append(f"{'':<{width}}      → {verdict.advice}")
    healthy = sum(d.healthy for d in health.devices)
    lines.append(f"{healthy} of {len(health.devices)} devices healthy, {len(health.quarantined)} quarantined "
                 f"({health.duration_s:.2f} s)")
    return "\n".join(lines) + "\n"
