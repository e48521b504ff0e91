"""An AWS IoT Core stand-in for tests of labs that send results to their own IoT Core: a real mosquitto with a
CA of its own (not the lab's), a client certificate required, TLS 1.2 or newer, on a port of its own, its
server certificate naming the address it listens on (clients check it, as they check *.iot.*.amazonaws.com)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from harness.mqtt.broker import Broker, broker_user, free_port
from harness.mqtt.pki import CertificateAuthority


class PermissiveBroker(Broker):
    """The lab broker's mosquitto setup without its per-thing ACL and client-id binding on the things' listener:
    IoT Core under a policy that lets every authenticated client use every topic (the user's own policy)."""

    def config_text(self, user) -> str:  # noqa: ANN001 (pwd.struct_passwd | None, as the base class)
        scoped = {f"acl_file {self.run_dir / 'things.acl'}", "use_username_as_clientid true"}
        return "\n".join(line for line in super().config_text(user).splitlines() if line not in scoped) + "\n"


@dataclass(frozen=True)
class StandIn:
    ca: CertificateAuthority
    broker: Broker
    address: str
    port: int

    @property
    def endpoint(self) -> str:
        return f"{self.address}:{self.port}"


@contextmanager
def iot_core_standin(directory: Path, address: str = "127.0.0.1") -> Iterator[StandIn]:
    ca = CertificateAuthority(directory)
    port = free_port(address)
    broker = PermissiveBroker(directory, [address], port, ca.ca.cert, ca.server([address]),
                              free_port("127.0.0.1"), ca.ca.cert)
    config = broker.config_text(broker_user())
    assert "require_certificate true" in config and "tls_version tlsv1.2" in config
    broker.start()
    try:
        yield StandIn(ca, broker, address, port)
    finally:
        broker.stop()
