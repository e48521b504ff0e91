"""How the harness reaches emulated cores: at their bridge addresses, or through ports the engine publishes.

``routed``: each core is ``ssh://hil@<bridge address>:22`` and reaches the broker at the lab network's
gateway. That needs a host that routes to the containers' network: a rootful engine on this kernel
(the private one, a system dockerd).

``published``: each core's 22/tcp is published on 127.0.0.1 (a remote engine: on its host) on a port the
engine chooses, and the core reaches the broker as ``host.docker.internal`` (``extra_hosts``). Docker
Desktop, rootless Docker (rootlesskit) and a remote DOCKER_HOST need it: their container addresses
live in a VM, a user namespace or another machine. It is chosen when the engine is one of those, or
when the lab file says ``engine: {reach: published}``.
"""

from __future__ import annotations

import re
import socket
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from urllib.parse import urlsplit

#: The name a published-mode core reaches the controller by (Docker Desktop's own name for the host).
HOST_ALIAS = "host.docker.internal"
#: The engine-side spelling of "the host, as the engine's containers reach it" (dockerd >= 20.10).
HOST_GATEWAY = "host-gateway"
LOOPBACK = "127.0.0.1"
_LOCAL_HOSTS = {"localhost", "127.0.0.1", "::1"}


class Reach(StrEnum):
    ROUTED = "routed"
    PUBLISHED = "published"


@dataclass(frozen=True)
class ReachMode:
    """The mode, why it was chosen, and for ``published`` where ports are bound and connected to."""

    reach: Reach
    reason: str
    #: HostIp of the published 22/tcp (engine side).
    bind: str = LOOPBACK
    #: Where the harness connects to a published port.
    connect: str = LOOPBACK

    def describe(self) -> str:
        where = f" on {self.connect}" if self.reach is Reach.PUBLISHED else ""
        return f"{self.reach}{where} ({self.reason})"


def remote_host(engine_url: str) -> str | None:
    """The engine's host when ``engine_url`` names another machine (tcp://, ssh://, http(s)://), else None."""
    try:
        url = urlsplit(engine_url)
        host = url.hostname
    except ValueError:  # e.g. an unclosed IPv6 bracket: docker's client refuses such a URL first
        return None
    if url.scheme in ("", "unix", "npipe"):
        return None
    return None if host is None or host in _LOCAL_HOSTS else host


def _unroutable(engine_url: str, info: Mapping[str, object], local_kernel: str) -> str | None:
    """Why the engine's container addresses cannot be reached from here, or None when they can."""
    host = remote_host(engine_url)
    if host is not None:
        return f"remote engine on {host}"
    security = info.get("SecurityOptions") or []
    if any("name=rootless" in str(option) for option in security):  # type: ignore[union-attr]
        return "rootless engine"
    if "docker desktop" in str(info.get("OperatingSystem", "")).lower():
        return "Docker Desktop"
    kernel = info.get("KernelVersion")
    if kernel and kernel != as_engine_reports(local_kernel):
        return f"engine runs under kernel {kernel}, this host under {local_kernel}: a VM"
    return None


def as_engine_reports(release: str) -> str:
    """A kernel release (``uname -r``) spelt as dockerd's ``/info`` spells it: ``K.M.m`` + flavour.

    As moby's ``pkg/parsers/kernel/kernel.go`` (``ParseRelease``, ``VersionInfo.String``) does:
    ``3.12-1-amd64`` becomes ``3.12.0-1-amd64``.
    """
    match = re.match(r"(\d+)\.(\d+)(\S*)", release)
    if match is None:
        return release
    kernel, major, partial = match.groups()
    minor = re.match(r"\.(\d+)(\S*)", partial)
    number, flavour = minor.groups() if minor else ("0", partial)
    return f"{int(kernel)}.{int(major)}.{int(number)}{flavour}"


def choose(configured: str | None, engine_url: str, info: Mapping[str, object] | None,
           local_kernel: str) -> ReachMode:
    """The lab file's ``engine.reach`` if set, else ``published`` exactly when the engine is not routable.

    ``info`` is the engine's ``/info`` document (``docker.DockerClient.info()``); it is not needed when
    the lab file decides.
    """
    host = remote_host(engine_url)
    bind, connect = ("0.0.0.0", host) if host else (LOOPBACK, LOOPBACK)  # noqa: S104 - the engine's host
    if configured is not None:
        return ReachMode(Reach(configured), "lab file engine.reach", bind, connect)
    why = _unroutable(engine_url, info or {}, local_kernel)
    if why is None:
        return ReachMode(Reach.ROUTED, "container addresses are routed from this host")
    return ReachMode(Reach.PUBLISHED, why, bind, connect)


def is_local_address(ip: str) -> bool:
    """True when ``ip`` is an address of this host (a broker can listen on it)."""
    try:
        with socket.socket(socket.AF_INET6 if ":" in ip else socket.AF_INET) as sock:
            sock.bind((ip, 0))
    except OSError:
        return False
    return True
