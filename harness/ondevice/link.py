"""One MQTT 3.1.1 connection over mutual TLS with awscrt, as an AWS IoT thing connects to IoT Core.

Used by the device's inference component (publisher, thing certificate) and by the harness's
subscriber (its own certificate from the lab CA): one implementation of the TLS settings.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from awscrt import exceptions as crt_exceptions
from awscrt import io, mqtt

QOS1 = mqtt.QoS.AT_LEAST_ONCE


class LinkError(ConnectionError):
    """The broker could not be reached or refused us (TLS handshake, certificate, CONNACK)."""


@dataclass(frozen=True)
class Credentials:
    """A thing's certificate, private key and the CA that signed the broker's certificate."""

    cert: Path
    key: Path
    ca: Path


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
            reconnect_max_s: int = 16) -> mqtt.Connection:
    """A connected MQTT connection (clean session, keep-alive 30 s, awscrt reconnects on its own later).

    Raises LinkError when the TLS handshake or the CONNACK fails within ``timeout``. ``on_resumed(connection,
    session_present)`` runs after each reconnect: a clean session comes back without its subscriptions.
    """
    for path in (creds.cert, creds.key, creds.ca):
        if not Path(path).is_file():
            raise LinkError(f"{path}: certificate file not found")
    loop = io.EventLoopGroup(1)
    bootstrap = io.ClientBootstrap(loop, io.DefaultHostResolver(loop))
    try:
        options = io.TlsContextOptions.create_client_with_mtls_from_path(str(creds.cert), str(creds.key))
        options.override_default_trust_store_from_path(None, str(creds.ca))
        options.min_tls_ver = io.TlsVersion.TLSv1_2
        tls = io.ClientTlsContext(options)
    except (crt_exceptions.AwsCrtError, RuntimeError) as exc:
        raise LinkError(f"cannot load {creds.cert}/{creds.key}: {exc}") from None
    host, port = endpoint

    def interrupted(connection: mqtt.Connection, error: Exception, **_: object) -> None:
        if on_interrupted:
            on_interrupted(f"connection to {host}:{port} interrupted: {error}")

    def resumed(connection: mqtt.Connection, return_code: object, session_present: bool, **_: object) -> None:
        if on_resumed:
            on_resumed(connection, session_present)

    connection = mqtt.Connection(
        client=mqtt.Client(bootstrap, tls), host_name=host, port=port, client_id=client_id,
        clean_session=True, keep_alive_secs=30, ping_timeout_ms=5000,
        protocol_operation_timeout_ms=int(timeout * 1000), reconnect_min_timeout_secs=1,
        reconnect_max_timeout_secs=reconnect_max_s, on_connection_interrupted=interrupted,
        on_connection_resumed=resumed, disable_metrics=True)
    try:
        connection.connect().result(timeout)
    except Exception as exc:  # noqa: BLE001 - awscrt raises AwsCrtError, MQTT exceptions or a timeout
        raise LinkError(f"MQTT connect to {host}:{port} as {client_id!r} failed: "
                        f"{type(exc).__name__}: {exc}") from None
    return connection


def disconnect(connection: mqtt.Connection, timeout: float = 5.0) -> None:
    """Disconnect, tolerating a connection that is already gone."""
    try:
        connection.disconnect().result(timeout)
    except Exception:  # noqa: BLE001, S110 - closing a dead connection is not an error worth raising
        pass
