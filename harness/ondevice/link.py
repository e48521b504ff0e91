"""One MQTT 3.1.1 connection over mutual TLS with awscrt, as an AWS IoT thing connects to IoT Core.

Used by the device's inference component (publisher, thing certificate) and by the harness's
subscriber (its own certificate from the lab CA, or the user's for their own IoT Core): one
implementation of the TLS settings, and one way of telling why a connection failed: a credentials
file missing or unusable, the endpoint unreachable, or the TLS handshake / CONNECT refused. Errors
name files and endpoints, never a file's content.
"""

from __future__ import annotations

import os
import socket
from collections.abc import Callable
from dataclasses import dataclass, fields
from pathlib import Path

from awscrt import exceptions as crt_exceptions
from awscrt import io, mqtt

QOS1 = mqtt.QoS.AT_LEAST_ONCE
ROLES = {"cert": "certificate", "key": "private key", "ca": "root CA"}


class LinkError(ConnectionError):
    """The broker could not be reached or refused us (TLS handshake, certificate, CONNACK)."""


class CredentialsError(LinkError):
    """A certificate, key or CA file is missing, unreadable or not PEM (named by path only)."""


class EndpointUnreachable(LinkError):
    """No TCP connection to the endpoint: wrong host or port, DNS, firewall, broker down."""


class HandshakeRefused(LinkError):
    """TCP connected, but the TLS handshake or the MQTT CONNECT failed: a certificate the broker does not
    accept, a CA that did not sign the broker's certificate, or a policy that refuses the client."""


@dataclass(frozen=True)
class Credentials:
    """A thing's certificate, private key and the CA that signed the broker's certificate."""

    cert: Path
    key: Path
    ca: Path

    def check(self) -> None:
        """Raise CredentialsError naming the first file that is missing or unreadable."""
        for role in fields(self):
            path = Path(getattr(self, role.name))
            if not path.is_file():
                raise CredentialsError(f"{ROLES[role.name]} file not found: {path}")
            if not os.access(path, os.R_OK):
                raise CredentialsError(f"{ROLES[role.name]} file not readable by uid {os.getuid()}: {path}")


def parse_endpoint(text: str) -> tuple[str, int]:
    """``host:port`` (or ``host`` for 8883) -> (host, port); bad text raises ValueError with one line."""
    text = text.strip()
    host, sep, port_text = text.rpartition(":")
    if not sep:
        host, port_text = text, "8883"
    if not host or any(c.isspace() or c in "/@[]" for c in host):
        raise ValueError(f"endpoint {text[:60]!r} must be host:port")
    if not port_text.isdigit() or not 0 < int(port_text) < 65536:
        raise ValueError(f"endpoint {text[:60]!r} has no valid port")
    return host, int(port_text)


def connect(endpoint: tuple[str, int], creds: Credentials, client_id: str, *, timeout: float = 10.0,
            on_interrupted: Callable[[str], None] | None = None,
            on_resumed: Callable[[mqtt.Connection, bool], None] | None = None,
            reconnect_max_s: int = 16, clean_session: bool = True) -> mqtt.Connection:
    """A connected MQTT connection (keep-alive 30 s, awscrt reconnects on its own later).

    A clean session lasts as long as its network connection; with ``clean_session=False`` the broker keeps
    the client id's subscriptions and queues its QoS 1 messages while it is away (MQTT 3.1.1 section 3.1.2.4).

    Raises CredentialsError, EndpointUnreachable (no TCP connection within ``timeout``) or
    HandshakeRefused (the TLS handshake or the CONNACK failed within ``timeout``).
    ``on_resumed(connection, session_present)`` runs after each reconnect: a session the broker did not keep
    comes back without its subscriptions.
    """
    creds.check()
    host, port = endpoint
    try:  # a TCP connection first: only then is a later failure the TLS handshake's or the broker's
        socket.create_connection((host, port), timeout).close()
    except OSError as exc:
        raise EndpointUnreachable(f"cannot reach {host}:{port}: {exc.strerror or type(exc).__name__}") from None
    loop = io.EventLoopGroup(1)
    bootstrap = io.ClientBootstrap(loop, io.DefaultHostResolver(loop))
    try:
        options = io.TlsContextOptions.create_client_with_mtls_from_path(str(creds.cert), str(creds.key))
        options.override_default_trust_store_from_path(None, str(creds.ca))
        options.min_tls_ver = io.TlsVersion.TLSv1_2
        tls = io.ClientTlsContext(options)
    except (crt_exceptions.AwsCrtError, RuntimeError) as exc:
        raise CredentialsError(f"cannot load the certificate {creds.cert} with the key {creds.key} or the root CA "
                               f"{creds.ca}: {getattr(exc, 'name', type(exc).__name__)}") from None

    def interrupted(connection: mqtt.Connection, error: Exception, **_: object) -> None:
        if on_interrupted:
            on_interrupted(f"connection to {host}:{port} interrupted: {error}")

    def resumed(connection: mqtt.Connection, return_code: object, session_present: bool, **_: object) -> None:
        if on_resumed:
            on_resumed(connection, session_present)

    connection = mqtt.Connection(
        client=mqtt.Client(bootstrap, tls), host_name=host, port=port, client_id=client_id,
        clean_session=clean_session, keep_alive_secs=30, ping_timeout_ms=5000,
        protocol_operation_timeout_ms=int(timeout * 1000), reconnect_min_timeout_secs=1,
        reconnect_max_timeout_secs=reconnect_max_s, on_connection_interrupted=interrupted,
        on_connection_resumed=resumed, disable_metrics=True)
    try:
        connection.connect().result(timeout)
    except Exception as exc:  # noqa: BLE001 - awscrt raises AwsCrtError, MQTT exceptions or a timeout
        raise HandshakeRefused(f"MQTT connect to {host}:{port} as {client_id!r} failed (TLS handshake or "
                               f"CONNECT): {type(exc).__name__}: {exc}") from None
    return connection


def disconnect(connection: mqtt.Connection, timeout: float = 5.0) -> None:
    """Disconnect, tolerating a connection that is already gone."""
    try:
        connection.disconnect().result(timeout)
    except Exception:  # noqa: BLE001, S110 - closing a dead connection is not an error worth raising
        pass
