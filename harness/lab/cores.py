"""Emulated cores: one container per device of the lab file, reachable by sshd once it answers.

A container is labelled with a stable key of everything it was started with; a change to the
image, the limits, the authorised key or the reach mode (harness.lab.reach) recreates it, anything
else keeps it. Where a core's sshd is reached is read from its container: the published 22/tcp
binding when it has one, else its address on the lab network.
"""

from __future__ import annotations

import os
import platform
import shlex
import socket
from dataclasses import dataclass
from pathlib import Path

import docker
from docker.errors import NotFound
from docker.models.containers import Container

from harness import resources
from harness.errors import LabError
from harness.health import checks
from harness.health.checks import HealthLimits
from harness.lab.device import Device
from harness.lab.inventory import DeviceSpec, Lab
from harness.lab.paths import state_dir
from harness.lab.profiles import Profile
from harness.lab.reach import HOST_ALIAS, LOOPBACK, remote_host
from harness.primitives.deadline import poll_until
from harness.primitives.digest import stable_key
from harness.primitives.progress import Say
from harness.transport.docker import DockerTransport

#: The cores' login user.
DEVICE_USER = "hil"
READY_TIMEOUT = 60.0
HOST_KEY_TIMEOUT = 15.0
NUCLEUS_TIMEOUT = 60.0  # greengrass-cli under qemu takes seconds
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


@dataclass(frozen=True)
class SSHEndpoint:
    """Where a core's sshd answers."""

    host: str
    port: int = 22

    @property
    def known_hosts_name(self) -> str:
        """The host as OpenSSH and paramiko write it in known_hosts (``[host]:port`` off port 22)."""
        return self.host if self.port == 22 else f"[{self.host}]:{self.port}"

    def __str__(self) -> str:
        return f"{self.host}:{self.port}"


@dataclass(frozen=True)
class Published:
    """A published-mode core: its 22/tcp bound on ``bind`` (port chosen by the engine), and the address
    ``host.docker.internal`` names inside it (``host-gateway``, or an address when the engine has none)."""

    bind: str
    host_gateway: str


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

    def run_spec(self, device: DeviceSpec, tag: str, pub: str, published: Published | None = None) -> dict[str, object]:
        """Everything a core is started with; a change to any of it recreates the container."""
        profile = self.lab.profile_of(device)
        limits = profile.limits
        volumes = {}
        if profile.docker_arch == "arm64" and platform.machine() != "aarch64":
            volumes[str(emulated_cpuinfo(EMULATED_ARM64_CPU))] = {"bind": "/proc/cpuinfo", "mode": "ro"}
        spec: dict[str, object] = {
            "image": tag, "name": self.container_name(device), "hostname": device.name,
            "network": self.network, "environment": {"HIL_AUTHORIZED_KEY": pub},
            "mem_limit": f"{limits.memory_mb}m", "memswap_limit": f"{limits.memory_mb}m",
            "nano_cpus": int(limits.cpus * 1e9), "volumes": volumes}
        if published is not None:  # HostPort "" (None): the engine picks a free port
            spec["ports"] = {"22/tcp": (published.bind, None)}
            spec["extra_hosts"] = {HOST_ALIAS: published.host_gateway}
        return spec

    def running_as(self, client: docker.DockerClient, device: DeviceSpec, tag: str, pub: str,
                   published: Published | None = None) -> bool:
        """True when the core's container runs with exactly this image, limits, key and reach mode."""
        container = self.container(client, device)
        return (container is not None and container.status == "running" and container.labels.get("hil.spec")
                == stable_key(self.run_spec(device, tag, pub, published), 16))

    def ensure(self, client: docker.DockerClient, device: DeviceSpec, tag: str, pub: str, say: Say,
               published: Published | None = None) -> None:
        """Start the core's container; recreate it when what it runs changed, start it when stopped."""
        spec = self.run_spec(device, tag, pub, published)
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

    def address(self, client: docker.DockerClient, device: DeviceSpec) -> SSHEndpoint | None:
        """Where the core's sshd is reached (its published port, else its lab network address), or None
        when its container is not running."""
        container = self.container(client, device)
        if container is None or container.status != "running":
            return None
        settings = container.attrs["NetworkSettings"]
        for binding in (settings.get("Ports") or {}).get("22/tcp") or []:
            if binding.get("HostPort"):
                bound = binding.get("HostIp") or ""
                host = remote_host(self.engine_url) or (bound if bound not in ("", "0.0.0.0", "::") else LOOPBACK)
                return SSHEndpoint(host, int(binding["HostPort"]))
        net = settings["Networks"].get(self.network) or {}
        return SSHEndpoint(net["IPAddress"]) if net.get("IPAddress") else None

    def answering(self, client: docker.DockerClient, device: DeviceSpec) -> SSHEndpoint | None:
        """Where the core's sshd greets now, else None."""
        endpoint = self.address(client, device)
        return endpoint if endpoint and ssh_banner(endpoint.host, endpoint.port) else None

    def await_sshd(self, client: docker.DockerClient, device: DeviceSpec,
                   timeout: float = READY_TIMEOUT) -> SSHEndpoint:
        """Wait until the core's sshd greets; where it does, or a LabError quoting the container's log."""
        endpoint = poll_until(lambda: self.answering(client, device), timeout, interval=0.1)
        if endpoint is None:
            container = self.container(client, device)
            logs = "" if container is None else \
                container.logs(tail=5).decode(errors="replace").strip().replace("\n", " | ")
            raise LabError(f"sshd not answering within {timeout:g} s (at {self.address(client, device)}); "
                           f"logs: {logs}", device=device.name, step="core start", advice="see `hil lab status`")
        return endpoint

    def check_nucleus(self, device: DeviceSpec, profile: Profile) -> None:
        """The lab health check's ``greengrass`` check over the engine: a core whose nucleus did not come
        up fails the bring-up here, named, instead of being quarantined at the start of every run."""
        core = Device(device, profile, self.engine_transport(device), f"docker://{self.container_name(device)}")
        verdict = checks.greengrass(core, HealthLimits(), NUCLEUS_TIMEOUT)
        if not verdict.ok:
            logs = shlex.join(["docker", "-H", self.engine_url, "exec", self.container_name(device), "tail", "-n",
                               "20", "/greengrass/v2/logs/loader.log", "/greengrass/v2/logs/greengrass.log"])
            raise LabError(verdict.detail, device=device.name, step="nucleus start",
                           advice=f"its logs: `{logs}`; `hil lab down` then `hil lab up` starts the core afresh")

    def engine_transport(self, device: DeviceSpec) -> DockerTransport:
        """docker exec into the core as its login user: the lab's own way in, independent of SSH."""
        return DockerTransport(device.name, self.container_name(device), user=DEVICE_USER,
                               base_url=self.engine_url)

    def host_key(self, device: DeviceSpec) -> str:
        """The core's ed25519 host key (``type base64``), read over the engine."""
        return " ".join(self.engine_transport(device).check(
            ["cat", "/etc/ssh/ssh_host_ed25519_key.pub"], timeout=HOST_KEY_TIMEOUT, step="host key"
        ).stdout.split()[:2])

    def host_alias(self, device: DeviceSpec) -> str | None:
        """The address ``host.docker.internal`` names inside the core (what the engine made of
        ``host-gateway``), or None when it names none."""
        result = self.engine_transport(device).run(["getent", "ahostsv4", HOST_ALIAS], timeout=HOST_KEY_TIMEOUT)
        fields = result.stdout.split()
        return fields[0] if result.ok and fields else None

    def remove_all(self, client: docker.DockerClient, say: Say) -> None:
        for container in client.containers.list(all=True, filters={"label": f"hil.lab={self.lab.name}"}):
            say(f"removing {container.name}")
            container.remove(force=True)
