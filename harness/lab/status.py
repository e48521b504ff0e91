"""`hil lab status`: every device asked at once, so unreachable boards cost one connect timeout, not one each."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor

import docker
from docker.errors import APIError

from harness.errors import FailureClass, HilError
from harness.lab.device import Device
from harness.lab.inventory import DeviceSpec

STATUS_THREADS = 16  # this many devices are asked at once

#: The keys of one status row, in the order `hil lab status` prints them.
FIELDS = ("name", "connection", "arch", "profile", "reachable", "error")


def status_row(spec: DeviceSpec, open_device: Callable[[str], Device]) -> dict[str, object]:
    """name, connection, arch (read from the device), profile, reachable, error (``[class] detail``)."""
    row: dict[str, object] = {"name": spec.name, "connection": spec.connection or "", "arch": None,
                              "profile": spec.profile, "reachable": False, "error": None}
    try:
        if spec.labgrid is not None:  # a place held by anyone is shown, not waited for
            from harness.transport.labgrid import place_row

            place = row["place"] = place_row(spec.labgrid.coordinator, spec.labgrid.place, spec.name)
            if place["locked_by"]:
                row["error"] = f"[{FailureClass.UNREACHABLE}] labgrid place {place['place']} {place['locked_by']}"
                return row
        device = open_device(spec.name)
        row["connection"] = device.connection
        try:
            row["arch"] = device.arch
            row["reachable"] = True
        finally:
            device.transport.close()
    except HilError as exc:
        row["error"] = f"[{exc.failure_class}] {exc.detail}"
    except (APIError, docker.errors.DockerException) as exc:
        row["error"] = f"[{FailureClass.ENGINE}] {exc}"
    return row


def status(specs: Sequence[DeviceSpec], open_device: Callable[[str], Device]) -> list[dict[str, object]]:
    """One row per device, asked concurrently."""
    if not specs:
        return []
    with ThreadPoolExecutor(max_workers=min(len(specs), STATUS_THREADS)) as pool:
        return list(pool.map(lambda spec: status_row(spec, open_device), specs))
