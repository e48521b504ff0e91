"""A lab device as a fault Target, and the sweep ``hil lab up`` runs for faults a crash left behind."""

from __future__ import annotations

import re
import socket
from pathlib import Path
from typing import TYPE_CHECKING

from harness.faults.inject import COMMAND_TIMEOUT, sweep
from harness.faults.model import FaultError, Target
from harness.primitives.hostcmd import run_controller
from harness.transport.hostspec import parse_hostspec

if TYPE_CHECKING:
    from harness.lab.bringup import LabController
    from harness.lab.inventory import DeviceSpec

_LINK = re.compile(r"^\d+:\s+([^@:\s]+)@if(\d+):", re.MULTILINE)


def _netns(pid: int) -> tuple[str, ...]:
    return ("nsenter", "-t", str(pid), "-n")


def core_link(pid: int) -> tuple[str, str]:
    """(the core's interface, the controller's end of its veth) from inside the core's network namespace."""
    listing = run_controller([*_netns(pid), "ip", "-o", "link", "show"], COMMAND_TIMEOUT, step="fault target",
                             error=FaultError)
    for name, peer in _LINK.findall(listing):
        for index in Path("/sys/class/net").glob("*/ifindex"):
            if index.read_text().strip() == peer:
                return name, index.parent.name
    raise FaultError(f"no veth of the core's network namespace (pid {pid}) ends on this host", step="fault target")


def _core_pid(controller: LabController, spec: DeviceSpec) -> int:
    container = controller.cores.container(controller.docker_client(), spec)
    pid = int(container.attrs["State"]["Pid"]) if container is not None and container.status == "running" else 0
    if not pid:
        raise FaultError(f"{controller.container_name(spec)} is not running", device=spec.name, step="fault target",
                         advice="run `hil lab up`")
    return pid


def target_for(controller: LabController, name: str) -> Target:
    """Where ``name``'s traffic is caught: an emulated core by its address and veth; a board by its address."""
    spec = controller.lab.device(name)
    endpoint = controller.iot.cores_endpoint()
    broker_port = endpoint[1] if endpoint else None
    if spec.emulated:
        pid = _core_pid(controller, spec)
        ssh = controller.cores.address(controller.docker_client(), spec)
        if ssh is None:
            raise FaultError("the core has no address on the lab network", device=name, step="fault target")
        device_iface, host_iface = core_link(pid)
        return Target(name, ssh.host, ssh.port, broker_port, host_iface, device_iface, _netns(pid))
    host = parse_hostspec(spec.connection or "")
    try:
        address = socket.gethostbyname(host.host)
    except OSError as exc:
        raise FaultError(f"cannot resolve {host.host}: {exc}", device=name, step="fault target") from None
    return Target(name, address, host.port or 22, broker_port)


def sweep_lab(controller: LabController) -> list[str]:
    """Sweep the controller and the running cores' ends of their links."""
    ends = []
    for spec in controller.emulated:
        try:
            pid = _core_pid(controller, spec)
            ends.append((_netns(pid), core_link(pid)[0]))
        except FaultError:
            continue  # a stopped core lost its qdiscs with its network namespace
    return sweep((), ends)
