"""Lab bring-up as an explicit state machine, persisted so a cut run resumes where it stopped.

    down → host-ready → engine-up → images-ready → devices-up → ready

Every transition is idempotent (it checks before it acts), so ``up()`` on a lab that is already up
only verifies it. A file lock keeps parallel test workers from racing each other.
"""

from __future__ import annotations

import fcntl
import hashlib
import ipaddress
import json
import os
import platform
import socket
import time
import zlib
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from enum import StrEnum
from pathlib import Path

import docker
from docker.errors import APIError, NotFound
from docker.models.containers import Container

from harness.errors import DeviceUnreachable, FailureClass, HilError, LabError
from harness.lab import engine as engines
from harness.lab import hostsetup, images
from harness.lab.device import Device
from harness.lab.hostsetup import Say, run_host
from harness.lab.inventory import DeviceSpec, Lab
from harness.lab.paths import DEVICES_DIR, state_dir
from harness.mqtt.lab import LabIoT, gateway_of
from harness.transport.docker import DockerTransport
from harness.transport.hostspec import parse_hostspec
from harness.transport.local import LocalTransport
from harness.transport.ssh import SSHOptions, SSHTransport

DEVICE_USER = "hil"
STATUS_THREADS = 16  # `hil lab status` asks this many devices at once
READY_TIMEOUT = 60.0
#: The CPU model arm64 cores run under qemu-user (QEMU_CPU in the image) and the cpuinfo that describes it.
EMULATED_ARM64_CPU = "cortex-a72"


class LabState(StrEnum):
    DOWN = "down"
    HOST_READY = "host-ready"
    ENGINE_UP = "engine-up"
    IMAGES_READY = "images-ready"
    DEVICES_UP = "devices-up"
    READY = "ready"


def _quiet(_: str) -> None:
    """Progress sink for callers that want none."""


class LabController:
    """Brings one lab file's emulated cores up and down and hands out devices."""

    def __init__(self, lab: Lab, say: Say = _quiet) -> None:
        self.lab = lab
        self.say = say
        self.home = state_dir() / "labs" / lab.name
        self.home.mkdir(parents=True, exist_ok=True)
        self._private = engines.private_engine()
        self._client: docker.DockerClient | None = None

    # -- persisted state ------------------------------------------------------------------------
    @property
    def state(self) -> LabState:
        try:
            return LabState(json.loads((self.home / "state.json").read_text())["state"])
        except (OSError, ValueError, KeyError):
            return LabState.DOWN

    def _enter(self, state: LabState) -> None:
        tmp = self.home / "state.json.tmp"
        tmp.write_text(json.dumps({"state": state.value, "since": time.time()}))
        tmp.replace(self.home / "state.json")

    @contextmanager
    def _locked(self) -> Iterator[None]:
        with open(self.home / "lock", "w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(lock, fcntl.LOCK_UN)

    # -- names and keys ---------------------------------------------------------------------------
    @property
    def emulated(self) -> list[DeviceSpec]:
        return [d for d in self.lab.spec.devices if d.emulated]

    def container_name(self, device: DeviceSpec) -> str:
        return f"hil-{self.lab.name}-{device.name}"

    @property
    def network_name(self) -> str:
        return f"hil-{self.lab.name}"

    @property
    def key_file(self) -> Path:
        return self.home / "id_ed25519"

    @property
    def known_hosts(self) -> Path:
        return self.home / "known_hosts"

    @property
    def iot(self) -> LabIoT:
        """The lab's CA, MQTT broker and thing certificates (harness.mqtt.lab)."""
        return LabIoT(self.home / "iot")

    @property
    def engine_url(self) -> str:
        return engines.engine_url(self.lab.spec.engine.host) or self._private.base_url

    def _docker(self) -> docker.DockerClient:
        if self._client is None:
            self._client = engines.connect(self.engine_url)
        return self._client

    def _ensure_key(self) -> str:
        if not self.key_file.exists():
            run_host(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", f"hil-{self.lab.name}",
                      "-f", str(self.key_file)], 30, step="lab key", failure_class=FailureClass.HOST_SETUP,
                     advice="ssh-keygen comes with openssh-client")
        return self.key_file.with_suffix(".pub").read_text().strip()

    # -- transitions --------------------------------------------------------------------------------
    def up(self) -> None:
        """Bring every emulated core up; verify those already up. Real devices are left as they are."""
        if not self.emulated:
            self._enter(LabState.READY)
            return
        with self._locked():
            need_arm64 = platform.machine() != "aarch64" and any(
                self.lab.profile_of(d).docker_arch == "arm64" for d in self.emulated)
            hostsetup.prepare_host(need_arm64, self.say)
            self._enter(LabState.HOST_READY)
            if engines.engine_url(self.lab.spec.engine.host) is None:
                self._private.start(self.say)
            self._docker()
            self._enter(LabState.ENGINE_UP)
            tags = {}
            for device in self.emulated:
                arch = self.lab.profile_of(device).docker_arch
                key = (arch, tuple(sorted(device.image.items())))
                if key not in tags:
                    tags[key] = images.ensure_core(self._docker(), arch, device.image, self.say)
            self._enter(LabState.IMAGES_READY)
            network = self._ensure_network()
            # The lab's IoT Core stand-in (mosquitto, mutual TLS) on the cores' gateway and loopback.
            iot_endpoint = self.iot.start(gateway_of(self._docker().networks.get(network).attrs))
            pub = self._ensure_key()
            for device in self.emulated:
                arch = self.lab.profile_of(device).docker_arch
                tag = tags[(arch, tuple(sorted(device.image.items())))]
                self._ensure_container(device, tag, network, pub)
            self._enter(LabState.DEVICES_UP)
            for device in self.emulated:
                self._await_ready(device)
                self.iot.provision(self._docker_transport(device), device.name, iot_endpoint)
            self._enter(LabState.READY)

    def down(self) -> None:
        """Stop and remove this lab's containers and network; stop the private engine if idle."""
        with self._locked():
            if self.iot.stop():
                self.say("stopped the lab's MQTT broker")
            if engines.engine_url(self.lab.spec.engine.host) is None and self._private.pid() is None:
                self._enter(LabState.DOWN)
                return
            client = self._docker()
            for container in client.containers.list(all=True, filters={"label": f"hil.lab={self.lab.name}"}):
                self.say(f"removing {container.name}")
                container.remove(force=True)
            for network in client.networks.list(names=[self.network_name]):
                network.remove()
            self._enter(LabState.DOWN)
            if engines.engine_url(self.lab.spec.engine.host) is None and not client.containers.list():
                client.close()
                self._client = None
                self._private.stop(self.say)

    # -- containers -----------------------------------------------------------------------------------
    def _ensure_network(self) -> str:
        client = self._docker()
        if not client.networks.list(names=[self.network_name]):
            subnet = free_subnet(self.lab.name)
            ipam = docker.types.IPAMConfig(pool_configs=[docker.types.IPAMPool(subnet=subnet)])
            self.say(f"creating network {self.network_name} ({subnet})")
            client.networks.create(self.network_name, driver="bridge", ipam=ipam,
                                   labels={"hil.lab": self.lab.name})
        return self.network_name

    def _container(self, device: DeviceSpec) -> Container | None:
        try:
            return self._docker().containers.get(self.container_name(device))
        except NotFound:
            return None

    def _run_spec(self, device: DeviceSpec, tag: str, network: str, pub: str) -> dict[str, object]:
        """Everything a core is started with; a change to any of it recreates the container."""
        limits = self.lab.profile_of(device).limits
        volumes = {}
        if self.lab.profile_of(device).docker_arch == "arm64" and platform.machine() != "aarch64":
            volumes[str(emulated_cpuinfo(EMULATED_ARM64_CPU))] = {"bind": "/proc/cpuinfo", "mode": "ro"}
        return {"image": tag, "name": self.container_name(device), "hostname": device.name, "network": network,
                "environment": {"HIL_AUTHORIZED_KEY": pub}, "mem_limit": f"{limits.memory_mb}m",
                "memswap_limit": f"{limits.memory_mb}m", "nano_cpus": int(limits.cpus * 1e9), "volumes": volumes}

    def _ensure_container(self, device: DeviceSpec, tag: str, network: str, pub: str) -> None:
        spec = self._run_spec(device, tag, network, pub)
        digest = hashlib.sha256(json.dumps(spec, sort_keys=True).encode()).hexdigest()[:16]
        container = self._container(device)
        if container is not None and container.labels.get("hil.spec") != digest:
            self.say(f"{device.name}: image or limits changed, recreating")
            container.remove(force=True)
            container = None
        if container is None:
            self.say(f"{device.name}: starting {tag} ({spec['mem_limit']}, {int(spec['nano_cpus']) / 1e9:g} CPU)")
            self._docker().containers.run(
                detach=True, init=True, **spec,
                labels={"hil.lab": self.lab.name, "hil.device": device.name, "hil.spec": digest})
        elif container.status != "running":
            self.say(f"{device.name}: starting stopped container")
            container.start()

    def _address(self, device: DeviceSpec) -> str | None:
        container = self._container(device)
        if container is None or container.status != "running":
            return None
        net = container.attrs["NetworkSettings"]["Networks"].get(self.network_name) or {}
        return net.get("IPAddress") or None

    def _await_ready(self, device: DeviceSpec) -> None:
        """Wait for sshd's banner, then pin the container's host key (read over the engine) in known_hosts."""
        deadline = time.monotonic() + READY_TIMEOUT
        address = None
        while time.monotonic() < deadline:
            address = self._address(device)
            if address and _ssh_banner(address, 22):
                break
            time.sleep(0.1)
        else:
            logs = ""
            container = self._container(device)
            if container is not None:
                logs = container.logs(tail=5).decode(errors="replace").strip().replace("\n", " | ")
            raise LabError(f"sshd not answering within {READY_TIMEOUT:g} s (address {address}); logs: {logs}",
                           device=device.name, step="core start", advice="see `hil lab status`")
        host_key = self._docker_transport(device).check(
            ["cat", "/etc/ssh/ssh_host_ed25519_key.pub"], timeout=15, step="host key").stdout.split()[:2]
        self._pin_host_key(address, " ".join(host_key))

    def _pin_host_key(self, address: str, key: str) -> None:
        lines = [ln for ln in (self.known_hosts.read_text().splitlines() if self.known_hosts.exists() else [])
                 if ln.split(" ", 1)[0] != address]
        lines.append(f"{address} {key}")
        tmp = self.known_hosts.with_suffix(".tmp")
        tmp.write_text("\n".join(lines) + "\n")
        tmp.replace(self.known_hosts)

    # -- devices ------------------------------------------------------------------------------------
    def _docker_transport(self, device: DeviceSpec) -> DockerTransport:
        return DockerTransport(device.name, self.container_name(device), user=DEVICE_USER,
                               base_url=self.engine_url)

    def docker_transport(self, name: str) -> DockerTransport:
        """The engine-side path into an emulated core (the lab's own back door; tests compare it with SSH)."""
        device = self.lab.device(name)
        if not device.emulated:
            raise LabError(f"{name} is not an emulated core", device=name, step="docker transport",
                           failure_class=FailureClass.INVENTORY)
        return self._docker_transport(device)

    def device(self, name: str) -> Device:
        """A handle on one device; raises DeviceUnreachable with the reason when it cannot be reached."""
        spec = self.lab.device(name)
        profile = self.lab.profile_of(spec)
        features = {**profile.features, **spec.features}
        if spec.emulated:
            if spec.transport == "docker":
                transport = self._docker_transport(spec)
                return Device(spec, profile, transport, f"docker://{DEVICE_USER}@{transport.container}", features)
            address = self._address(spec)
            if address is None:
                raise DeviceUnreachable(f"container {self.container_name(spec)} is not running",
                                        device=name, step="lab", advice="run `hil lab up`")
            options = SSHOptions(address, DEVICE_USER, 22, self.key_file, None, self.known_hosts, False)
            return Device(spec, profile, SSHTransport(name, options), f"ssh://{DEVICE_USER}@{address}:22", features)
        hostspec = parse_hostspec(spec.connection or "")
        creds = spec.credentials
        if hostspec.scheme == "ssh":
            password = _secret(creds.password_env, name)
            options = SSHOptions(hostspec.host, hostspec.user or DEVICE_USER, hostspec.port or 22, creds.key,
                                 password, creds.known_hosts, creds.auto_add_host_key)
            transport = SSHTransport(name, options)
        elif hostspec.scheme == "docker":
            transport = DockerTransport(name, hostspec.host, user=hostspec.user,
                                        base_url=hostspec.options.get("docker_host"))
        else:
            transport = LocalTransport(name)
        return Device(spec, profile, transport, str(hostspec), features)

    def status(self) -> list[dict[str, object]]:
        """One record per device: name, connection, arch (read from the device), profile, reachable, error.

        Devices are asked at the same time, so unreachable boards cost one connect timeout, not one each.
        """
        specs = self.lab.spec.devices
        if not specs:
            return []
        with ThreadPoolExecutor(max_workers=min(len(specs), STATUS_THREADS)) as pool:
            return list(pool.map(self._status_row, specs))

    def _status_row(self, spec: DeviceSpec) -> dict[str, object]:
        row: dict[str, object] = {"name": spec.name, "connection": spec.connection or "", "arch": None,
                                  "profile": spec.profile, "reachable": False, "error": None}
        try:
            device = self.device(spec.name)
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


def routed_networks(route_table: Path = Path("/proc/net/route")) -> list[ipaddress.IPv4Network]:
    """The IPv4 networks this host already routes (other labs, other engines, the LAN)."""
    networks = []
    for line in route_table.read_text().splitlines()[1:]:
        fields = line.split()
        if len(fields) >= 8:
            dest, mask = (ipaddress.IPv4Address(int(f, 16).to_bytes(4, "little")) for f in (fields[1], fields[7]))
            networks.append(ipaddress.IPv4Network(f"{dest}/{mask}", strict=False))
    return networks


def free_subnet(lab_name: str, taken: list[ipaddress.IPv4Network] | None = None) -> str:
    """A /24 in 10.213.0.0/16 for the lab's network: stable for a lab name, skipping routed ones."""
    taken = routed_networks() if taken is None else taken
    start = zlib.crc32(lab_name.encode())
    for step in range(256):
        candidate = ipaddress.IPv4Network(f"10.213.{(start + step) % 256}.0/24")
        if not any(candidate.overlaps(net) for net in taken if net.prefixlen > 0):
            return str(candidate)
    raise LabError("no free /24 left in 10.213.0.0/16 for the lab network", step="network",
                   advice="remove unused lab networks: `hil lab down` on other labs")


def emulated_cpuinfo(cpu: str) -> Path:
    """A /proc/cpuinfo for a core emulated with qemu-user's ``cpu`` model.

    qemu-user passes the host's /proc/cpuinfo through, so an arm64 core would claim an x86 CPU
    without NEON; the file bind-mounted over it (as LXCFS does) describes the CPU qemu emulates.
    """
    source = DEVICES_DIR / "images" / "cpuinfo"
    block = (source / f"{cpu}.processor").read_text()
    text = "".join(block.replace("{n}", str(n)) for n in range(os.cpu_count() or 1))
    text += (source / f"{cpu}.trailer").read_text()
    target = state_dir() / "cpuinfo" / cpu
    target.parent.mkdir(parents=True, exist_ok=True)
    if not target.exists() or target.read_text() != text:
        target.write_text(text)
    return target


def _secret(env_name: str | None, device: str) -> str | None:
    if env_name is None:
        return None
    value = os.environ.get(env_name)
    if value is None:
        raise LabError(f"credentials.password_env names {env_name}, which is not set", device=device,
                       step="credentials", failure_class=FailureClass.AUTH,
                       advice=f"export {env_name}=… before the run (the lab file never holds the password)")
    return value


def _ssh_banner(host: str, port: int, timeout: float = 1.0) -> bool:
    try:
        with socket.create_connection((host, port), timeout=timeout) as sock:
            sock.settimeout(timeout)
            return sock.recv(64).startswith(b"SSH-")
    except OSError:
        return False
