"""The health checks on the embedded lab's emulated cores: every check passes, and the time each core takes."""

from __future__ import annotations

from dataclasses import replace

from harness.health import CHECKS, HealthLimits, check_devices
from harness.health.render import table
from harness.lab.profiles import load_profiles


def emulated(lab):
    return [spec.name for spec in lab.lab.spec.devices if spec.emulated]


def test_every_emulated_core_is_healthy(lab):
    names = emulated(lab)
    devices = [lab.device(name) for name in names]
    try:
        health = check_devices(devices)
    finally:
        for device in devices:
            device.transport.close()
    print("\n" + table(health), end="")
    for device in health.devices:
        print(f"{device.name}: health check {device.duration_s:.2f} s "
              f"({', '.join(f'{v.name} {v.duration_s:.2f}' for v in device.checks)})")
    assert [d.name for d in health.devices] == names and len(names) >= 2
    assert health.quarantined == {}, table(health)
    assert health.exit_status == 0
    for device in health.devices:
        assert [v.name for v in device.checks] == [name for name, _ in CHECKS]
        assert device.duration_s < HealthLimits().device_budget_s


def test_x86_core_under_an_ml_c5_profile_fails_its_cpu_check_unless_it_has_avx512(lab):
    name = next(spec.name for spec in lab.lab.spec.devices
                if spec.emulated and lab.lab.profile_of(spec).arch == "x86_64")
    device = lab.device(name)
    try:
        flags = device.transport.check("grep -m1 '^flags' /proc/cpuinfo").stdout.split()
        health = check_devices([replace(device, profile=load_profiles()["ml_c5"])]).devices[0]
    finally:
        device.transport.close()
    cpu = next(v for v in health.checks if v.name == "cpu")
    if "avx512f" in flags:
        assert cpu.ok, cpu
    else:
        assert not cpu.ok and "compiled ml_c5 code would die with Illegal instruction" in cpu.detail
        assert health.quarantine is not None and "cpu:" in health.quarantine.reason
