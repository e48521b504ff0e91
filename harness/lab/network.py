"""The lab's Docker bridge network and the /24 it gets: stable per lab name, clear of routed networks."""

from __future__ import annotations

import ipaddress
import zlib
from pathlib import Path

import docker

from harness.errors import LabError
from harness.primitives.progress import Say


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


class LabNetwork:
    """The bridge network ``hil-<lab>`` the lab's cores share; its gateway is the host."""

    def __init__(self, lab_name: str) -> None:
        self.lab_name = lab_name
        self.name = f"hil-{lab_name}"

    def exists(self, client: docker.DockerClient) -> bool:
        return bool(client.networks.list(names=[self.name]))

    def ensure(self, client: docker.DockerClient, say: Say) -> str:
        """Create the network unless it exists; returns its name."""
        if not self.exists(client):
            subnet = free_subnet(self.lab_name)
            ipam = docker.types.IPAMConfig(pool_configs=[docker.types.IPAMPool(subnet=subnet)])
            say(f"creating network {self.name} ({subnet})")
            client.networks.create(self.name, driver="bridge", ipam=ipam, labels={"hil.lab": self.lab_name})
        return self.name

    def attrs(self, client: docker.DockerClient) -> dict[str, object]:
        return dict(client.networks.get(self.name).attrs)

    def remove(self, client: docker.DockerClient) -> None:
        for network in client.networks.list(names=[self.name]):
            network.remove()
