"""``-n N --dist loadgroup`` for a lab: one xdist work unit per device, its modules staggered.

pytest 9.2 derives ``nodeid`` from the node's own id, so xdist 3.8's ``xdist_group`` renaming no
longer reaches the scheduler: tests are grouped by their device parameter here instead. The scheduler
sees only node ids, so the device is read from the id (harness.records.device_of).
"""

from __future__ import annotations

import pytest

from harness.pytest_plugin.options import selected_devices
from harness.records import device_of


def staggered(nodeids: list[str], position: int, devices: int) -> list[str]:
    """One device's tests with its modules rotated by its position among ``devices``: each device
    starts at a different module, so the measurements (one at a time per host) and the heavy steps of
    emulated cores on one host do not all fall due at once. Each module's tests stay together and in
    order, so module-scoped deployments are made and removed once."""
    modules: dict[str, list[str]] = {}
    for nodeid in nodeids:
        modules.setdefault(nodeid.split("::", 1)[0], []).append(nodeid)
    order = list(modules)
    shift = (position * len(order)) // max(devices, 1)
    return [nodeid for module in order[shift:] + order[:shift] for nodeid in modules[module]]


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_make_scheduler(config: pytest.Config, log: object) -> object:
    """Devices run in parallel and each device's tests stay on one worker (module-scoped deployments
    are not shared across workers), its modules :func:`staggered`."""
    if config.getvalue("dist") != "loadgroup":
        return None
    from xdist.scheduler import LoadScopeScheduling

    devices = [d.name for d in selected_devices(config)]

    class DeviceScheduling(LoadScopeScheduling):
        def _split_scope(self, nodeid: str) -> str:
            return device_of(nodeid, devices) or nodeid

        def _assign_work_unit(self, node: object) -> None:
            scope, unit = next(iter(self.workqueue.items()))
            if scope in devices:
                order = staggered(list(unit), devices.index(scope), len(devices))
                self.workqueue[scope] = {nodeid: unit[nodeid] for nodeid in order}
            super()._assign_work_unit(node)

    return DeviceScheduling(config, log)
