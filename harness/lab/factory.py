"""Device handles: a lab file's device, its profile, and the transport the registry builds for it.

Real devices are reached as their ``connection`` hostspec says; an emulated core's hostspec is
made from its running container (SSH to its lab network address, or to its published port, with the
lab's key and pinned host key; or docker exec when the lab file says ``transport: docker``).
"""

from __future__ import annotations

import os
from collections.abc import Callable

import docker

from harness.errors import DeviceUnreachable, FailureClass, LabError
from harness.lab.cores import DEVICE_USER, EmulatedCores
from harness.lab.device import Device
from harness.lab.hostkeys import LabKeys
from harness.lab.inventory import DeviceSpec, Lab
from harness.transport.hostspec import HostSpec, parse_hostspec
from harness.transport.registry import Credentials, TransportSpec, transport_for


def secret(env_name: str | None, device: str) -> str | None:
    """The password held in the environment variable the lab file names (never in the file itself)."""
    if env_name is None:
        return None
    value = os.environ.get(env_name)
    if value is None:
        raise LabError(f"credentials.password_env names {env_name}, which is not set", device=device,
                       step="credentials", failure_class=FailureClass.AUTH,
                       advice=f"export {env_name}=… before the run (the lab file never holds the password)")
    return value


class DeviceFactory:
    """Turns a device name of the lab file into a :class:`Device`."""

    def __init__(self, lab: Lab, cores: EmulatedCores, keys: LabKeys) -> None:
        self.lab = lab
        self.cores = cores
        self.keys = keys

    def transport_spec(self, spec: DeviceSpec, client: Callable[[], docker.DockerClient]) -> TransportSpec:
        """Where ``spec`` is reached and with which credentials; ``client`` is asked only for emulated SSH cores."""
        if not spec.emulated:
            creds = spec.credentials
            return TransportSpec(spec.name, parse_hostspec(spec.connection or ""),
                                 Credentials(creds.key, secret(creds.password_env, spec.name), creds.known_hosts,
                                             creds.auto_add_host_key))
        if spec.transport == "docker":
            return TransportSpec(spec.name, HostSpec("docker", self.cores.container_name(spec), DEVICE_USER),
                                 options={"docker_host": self.cores.engine_url})
        sshd = self.cores.address(client(), spec)
        if sshd is None:
            raise DeviceUnreachable(f"container {self.cores.container_name(spec)} is not running",
                                    device=spec.name, step="lab", advice="run `hil lab up`")
        return TransportSpec(spec.name, HostSpec("ssh", sshd.host, DEVICE_USER, sshd.port),
                             Credentials(self.keys.key_file, None, self.keys.known_hosts, False))

    def device(self, name: str, client: Callable[[], docker.DockerClient]) -> Device:
        """A handle on one device; raises DeviceUnreachable with the reason when it cannot be reached."""
        spec = self.lab.device(name)
        target = self.transport_spec(spec, client)
        return Device(spec, self.lab.profile_of(spec), transport_for(target), str(target.hostspec))
