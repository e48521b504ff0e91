"""Emulated cores: one container per device of the lab file, reachable by sshd once it answers.

A container is labelled with a stable key of everything it was started with; a change to the
image, the limits or the authorised key recreates it, anything else keeps it.
"""

from __future__ import annotations

import os
import platform
import socket
from pathlib import Path

import docker
from docker.errors import NotFound
from docker.models.containers import Container

from harness import resources
from harness.errors import LabError
from harness.lab.inventory import DeviceSpec, Lab
from harness.lab.paths import state_dir
from harness.primitives.deadline import poll_until
from harness.primitives.digest import stable_key
from harness.primitives.progress import Say
from harness.transport.docker import DockerTransport

#: The cores' login user.
DEVICE_USER = "hil"
READY_TIMEOUT = 60.0
HOST_KEY_TIMEOUT = 15.0
#: The CPU model arm64 cores run under qemu-user (QEMU_CPU in the image) and the cpuinfo that describes it.
EMULATED_ARM64_CPU = "cortex-a72"


def emulated_cpuinfo(cpu: str) -> Path:
    """A /proc/cpuinfo for a core emulated with qemu-user's ``cpu`` model.

    qemu-user passes the host's /proc/cpuinfo through, so an arm64 core would claim an x86 CPU
    without NEON; the file bind-mounted over it (as LXCFS does) describes the CPU qemu emulates.
    """
    source = resources.cpuinfo_dir()
    block = (source / f"{cpu}.processor").read_text()
    text = "".join(block.replace("{n}", str(n)) for n in range(os.cpu_count() or 1))
    text += (source / f"{cpu}.trailer").read_text()
    target = state_dir() / "cpuinfo" / cpu
    target.parent.mkdir(parents=True, exist_ok=True)
    if not target.exists() or target.read_text() != text:
        target.write_text(text)
    return target


def ssh_banner(host: str, port: int = 22, timeout: float = 1.0) -> bool:
    """True when an SSH server greets on ``host:port``."""
    try:
        with socket.create_connection((host, port), timeout=timeout) as sock:
            sock.settimeout(timeout)
            return sock.recv(64).startswith(b"SSH-")
    except OSError:
        return False


class EmulatedCores:
    """The containers of one lab on one engine."""

    def __init__(self, lab: Lab, network: str, engine_url: str) -> None:
        self.lab = lab
        self.network = network
        self.engine_url = engine_url

    def container_name(self, device: DeviceSpec) -> str:
        return f"hil-{self.lab.name}-{device.name}"

    def container(self, client: docker.DockerClient, device: DeviceSpec) -> Container | None:
        try:
            return client.containers.get(self.container_name(device))
        except NotFound:
            return None

    def run_spec(self, device: DeviceSpec, tag: str, pub: str) -> dict[str, object]:
        """Everything a core is started with; a change to any of it recreates the container."""
        profile = self.lab.profile_of(device)
        limits = profile.limits
        volumes = {}
        if profile.docker_arch == "arm64" and platform.machine() != "aarch64":
            volumes[str(emulated_cpuinfo(EMULATED_ARM64_CPU))] = {"bind": "/proc/cpuinfo", "mode": "ro"}
        return {"image": tag, "name": self.container_name(device), "hostname": device.name,
                "network": self.network, "environment": {"HIL_AUTHORIZED_KEY": pub},
                "mem_limit": f"{limits.memory_mb}m", "memswap_limit": f"{limits.memory_mb}m",
                "nano_cpus": int(limits.cpus * 1e9), "volumes": volumes}

    def running_as(self, client: docker.DockerClient, device: DeviceSpec, tag: str, pub: str) -> bool:
        """True when the core's container runs with exactly this image, limits and key."""
        container = self.container(client, device)
        return (container is not None and container.status == "running"
                and container.labels.get("hil.spec") == stable_key(self.run_spec(device, tag, pub), 16))

    def ensure(self, client: docker.DockerClient, device: DeviceSpec, tag: str, pub: str, say: Say) -> None:
        """Start the core's container; recreate it when what it runs changed, start it when stopped."""
        spec = self.run_spec(device, tag, pub)
        digest = stable_key(spec, 16)
        container = self.container(client, device)
        if container is not None and container.labels.get("hil.spec") != digest:
            say(f"{device.name}: image or limits changed, recreating")
            container.remove(force=True)
            container = None
        if container is None:
            say(f"{device.name}: starting {tag} ({spec['mem_limit']}, {int(spec['nano_cpus']) / 1e9:g} CPU)")
            client.containers.run(detach=True, init=True, **spec,
                                  labels={"hil.lab": self.lab.name, "hil.device": device.name, "hil.spec": digest})
        elif container.status != "running":
            say(f"{device.name}: starting stopped container")
            container.start()

    def address(self, client: docker.DockerClient, device: DeviceSpec) -> str | None:
        """The core's address on the lab network, or None when its container is not running."""
        container = self.container(client, device)
        if container is None or container.status != "running":
            return None
        net = container.attrs["NetworkSettings"]["Networks"].get(self.network) or {}
        return net.get("IPAddress") or None

    def answering(self, client: docker.DockerClient, device: DeviceSpec) -> str | None:
        """The core's address if its sshd greets there now, else None."""
        address = self.address(client, device)
        return address if address and ssh_banner(address) else None

    def await_sshd(self, client: docker.DockerClient, device: DeviceSpec, timeout: float = READY_TIMEOUT) -> str:
        """Wait until the core's sshd greets; its address, or a LabError quoting the container's log."""
        address = poll_until(lambda: self.answering(client, device), timeout, interval=0.1)
        if address is None:
            container = self.container(client, device)
            logs = "" if container is None else \
                container.logs(tail=5).decode(errors="replace").strip().replace("\n", " | ")
            raise LabError(f"sshd not answering within {timeout:g} s (address {self.address(client, device)}); "
                           f"logs: {logs}", device=device.name, step="core start", advice="see `hil lab status`")
        return address

    def engine_transport(self, device: DeviceSpec) -> DockerTransport:
        """docker exec into the core as its login user: the lab's own way in, independent of SSH."""
        return DockerTransport(device.name, self.container_name(device), user=DEVICE_USER,
                               base_url=self.engine_url)

    def host_key(self, device: DeviceSpec) -> str:
        """The core's ed25519 host key (``type base64``), read over the engine."""
        return " ".join(self.engine_transport(device).check(
            ["cat", "/etc/ssh/ssh_host_ed25519_key.pub"], timeout=HOST_KEY_TIMEOUT, step="host key"
        ).stdout.split()[:2])

    def remove_all(self, client: docker.DockerClient, say: Say) -> None:
        for container in client.containers.list(all=True, filters={"label": f"hil.lab={self.lab.name}"}):
            say(f"removing {container.name}")
            container.remove(force=True)
