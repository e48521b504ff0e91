"""Lab health checks before a run, in LAVA's model: a device is healthy or quarantined, with the reason."""

from harness.health.checks import CHECKS, HealthLimits
from harness.health.record import DeviceHealth, HealthVerdict, LabHealth, Quarantine
from harness.health.run import check_device, check_devices, check_lab

__all__ = ["CHECKS", "DeviceHealth", "HealthLimits", "HealthVerdict", "LabHealth", "Quarantine", "check_device",
           "check_devices", "check_lab"]
