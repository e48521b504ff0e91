"""A lab's IoT side: its CA, its broker (on the lab network's gateway and 127.0.0.1) and the cores'
thing certificates, installed where a Greengrass core keeps them. Published-mode cores
(harness.lab.reach) connect to it as ``host.docker.internal``, a DNS name of its certificate.

On each core: ``/greengrass/v2/thingCert.crt`` (0644), ``privKey.key`` (root:ggc_group 0640: the
nucleus and components running as ggc_user read it, the login user does not), ``rootCA.pem``
(0644) and ``iot-endpoint`` (``host:port`` of the broker, 0644).
"""

from __future__ import annotations

import ipaddress
import json
import shlex
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING

from harness.errors import FailureClass, LabError
from harness.lab.device import DEVICE_PYTHON
from harness.mqtt.acl import HARNESS_THING
from harness.mqtt.broker import LOOPBACK, Broker, free_port
from harness.primitives.scratch import make_scratch
from harness.transport.base import Transport

if TYPE_CHECKING:  # cryptography and awscrt load only when certificates are made or used
    from harness.lab.inventory import IoTSpec
    from harness.mqtt.pki import CertificateAuthority
    from harness.ondevice.link import Credentials

GG_ROOT = "/greengrass/v2"

_INSTALL = """set -eu
src=$1; root=$2
group=root; mode=0600
if getent group ggc_group >/dev/null; then group=ggc_group; mode=0640; fi
install -d -m 0755 "$root"
install -o root -g root -m 0644 "$src/thingCert.crt" "$root/thingCert.crt"
install -o root -g "$group" -m "$mode" "$src/privKey.key" "$root/privKey.key"
install -o root -g root -m 0644 "$src/rootCA.pem" "$root/rootCA.pem"
install -o root -g root -m 0644 "$src/iot-endpoint" "$root/iot-endpoint"
rm -rf "$src"
"""

_PROBE = "import socket,sys; socket.create_connection((sys.argv[1], int(sys.argv[2])), 5).close()"


class LabIoT:
    """The IoT side of one lab, kept in ``directory`` (``<state>/labs/<lab>/iot``)."""

    def __init__(self, directory: Path) -> None:
        self.directory = Path(directory)
        self._settings = self.directory / "broker.json"

    @cached_property
    def ca(self) -> CertificateAuthority:
        from harness.mqtt.pki import CertificateAuthority

        return CertificateAuthority(self.directory)

    @cached_property
    def harness_ca(self) -> CertificateAuthority:
        """The CA of the harness's identity alone: the things' listeners refuse it, the harness's accepts only it."""
        from harness.mqtt.pki import CertificateAuthority

        return CertificateAuthority(self.directory / "harness", "edge-hil harness CA")

    def _load(self) -> dict[str, object]:
        try:
            return dict(json.loads(self._settings.read_text()))
        except (OSError, ValueError):
            return {}

    def broker(self) -> Broker:
        settings = self._load()
        addresses = [str(a) for a in settings.get("addresses", [LOOPBACK])]  # type: ignore[union-attr]
        port = int(settings.get("port", 0))  # type: ignore[arg-type]
        harness_port = int(settings.get("harness_port", 0))  # type: ignore[arg-type]
        names = tuple(str(n) for n in settings.get("names", []))  # type: ignore[union-attr]
        return Broker(self.directory, addresses, port, self.ca.ca.cert, self.ca.server(addresses, names), harness_port,
                      self.harness_ca.ca.cert)

    def start(self, gateway: str | None, port: int | None = None, cores_host: str | None = None) -> tuple[str, int]:
        """Start the broker on ``gateway`` (the devices' way to the host) and loopback, on ``port`` (default: the
        last one, else a free one); returns the devices' endpoint.

        ``cores_host`` is the name the devices connect by when it is not ``gateway`` (``host.docker.internal``
        for published-mode cores); the server certificate carries it as a DNS name.
        """
        settings = self._load()
        port = int(port or settings.get("port") or free_port())  # type: ignore[arg-type]
        harness_port = int(settings.get("harness_port") or 0)  # type: ignore[arg-type]
        while harness_port in (0, port):
            harness_port = free_port()
        addresses = [LOOPBACK] + ([gateway] if gateway and gateway != LOOPBACK else [])
        wanted: dict[str, object] = {"port": port, "harness_port": harness_port, "addresses": addresses}
        if cores_host:
            wanted |= {"cores_host": cores_host, "names": [] if _is_ip(cores_host) else [cores_host]}
        if settings != wanted and self.running():
            self.stop()  # a new certificate (other names) needs a new broker process to be served
        self.directory.mkdir(parents=True, exist_ok=True)
        self._settings.write_text(json.dumps(wanted))
        self.broker().start()
        return (cores_host or addresses[-1], port)

    def start_for(self, iot: IoTSpec) -> tuple[str, int] | None:
        """The broker of a lab of boards, where its file says they reach it; None for an IoT Core lab."""
        if iot.endpoint:
            return None
        want, current = iot.broker_address or LOOPBACK, self.cores_endpoint()
        if self.current() and current and current[0] == want and iot.port in (None, current[1]):
            return current
        if self.running():
            self.stop()
        return self.start(iot.broker_address, iot.port)

    def stop(self) -> bool:
        """Stop the broker if it runs (a lab that never started one has nothing to stop)."""
        return self._settings.exists() and self.broker().stop()

    def cores_endpoint(self) -> tuple[str, int] | None:
        """The endpoint the cores were given by the last :meth:`start`, or None before any."""
        settings = self._load()
        addresses, port = settings.get("addresses"), settings.get("port")
        if not addresses or not port:
            return None
        return (str(settings.get("cores_host") or addresses[-1]), int(port))  # type: ignore[index, arg-type]

    def running(self) -> bool:
        return self._settings.exists() and self.broker().pid() is not None

    def current(self) -> bool:
        """Running with the configuration this code writes (certificates, ACLs, user): else `start` restarts it."""
        return self._settings.exists() and self.broker().current()

    def provisioned(self, transport: Transport, endpoint: tuple[str, int]) -> bool:
        """True when the core holds a certificate and ``endpoint`` (one cheap command, no changes)."""
        result = transport.run(f"test -s {GG_ROOT}/thingCert.crt && cat {GG_ROOT}/iot-endpoint", timeout=15)
        return result.ok and result.stdout.strip() == f"{endpoint[0]}:{endpoint[1]}"

    @property
    def endpoint(self) -> tuple[str, int]:
        """The harness's endpoint (its own listener, on loopback)."""
        broker = self.broker()
        if broker.pid() is None:
            raise LabError("the lab's MQTT broker is not running", step="iot broker",
                           failure_class=FailureClass.UNREACHABLE, advice="run `hil lab up`")
        return (LOOPBACK, broker.harness_port)

    def credentials(self, thing: str = HARNESS_THING) -> Credentials:
        """``thing``'s certificate and key (the harness's from the harness CA), and the CA of the broker's own."""
        from harness.ondevice.link import Credentials

        pair = (self.harness_ca if thing == HARNESS_THING else self.ca).thing(thing)
        return Credentials(pair.cert, pair.key, self.ca.ca.cert)

    def device_credentials(self, device: str) -> Credentials:
        """A device's thing credentials; the harness's name is refused (it is not a thing's to hold)."""
        if device == HARNESS_THING:
            raise LabError(f"a device may not be named {HARNESS_THING!r}: that is the harness's MQTT identity",
                           device=device, step="iot certificates", failure_class=FailureClass.INVENTORY,
                           advice="rename the device in the lab file")
        return self.credentials(device)

    def provision(self, transport: Transport, thing: str, endpoint: tuple[str, int]) -> None:
        """Install ``thing``'s certificate, key, the CA and the endpoint on a core; check it reaches the broker."""
        creds = self.device_credentials(thing)
        staging = self.directory / "staging" / thing
        staging.mkdir(parents=True, exist_ok=True)
        (staging / "iot-endpoint").write_text(f"{endpoint[0]}:{endpoint[1]}\n")
        step = "iot certificates"
        remote = make_scratch(transport, "iot")  # the install script removes it
        for local, name in ((creds.cert, "thingCert.crt"), (creds.key, "privKey.key"), (creds.ca, "rootCA.pem"),
                            (staging / "iot-endpoint", "iot-endpoint")):
            transport.put(local, f"{remote}/{name}", timeout=30)
        transport.check(f"sudo -n sh -c {shlex.quote(_INSTALL)} install {shlex.quote(remote)} {GG_ROOT}",
                        timeout=30, step=step)
        probe = transport.run([DEVICE_PYTHON, "-c", _PROBE, endpoint[0], str(endpoint[1])],
                              timeout=60)
        if not probe.ok:
            raise LabError(f"the core cannot reach the lab broker at {endpoint[0]}:{endpoint[1]}: "
                           f"{(probe.stderr.strip().splitlines() or ['no output'])[-1]}",
                           device=thing, step="iot broker reachability", failure_class=FailureClass.UNREACHABLE,
                           advice="check the host firewall's INPUT chain for the lab bridge; cores behind "
                                  "published ports reach the host as host.docker.internal (docs/install.md)")


def _is_ip(text: str) -> bool:
    try:
        ipaddress.ip_address(text)
    except ValueError:
        return False
    return True


def gateway_of(network_attrs: dict[str, object]) -> str:
    """The host's address on a Docker bridge network (its gateway), from the network's attrs."""
    configs = (network_attrs.get("IPAM") or {}).get("Config") or []  # type: ignore[union-attr]
    for config in configs:
        if config.get("Gateway"):
            return str(config["Gateway"])
        if config.get("Subnet"):
            return str(next(ipaddress.ip_network(config["Subnet"]).hosts()))
    raise LabError("the lab network has no IPv4 subnet", step="iot broker", failure_class=FailureClass.ENGINE)
