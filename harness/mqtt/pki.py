"""The lab's certificate authority: a CA, the broker's server certificate and one client certificate per
thing (CN = thing name, like an AWS IoT thing certificate), made with ``cryptography``.

Files live in one directory (``<state>/labs/<lab>/iot``): ``ca.pem``/``ca.key``,
``server.pem``/``server.key``, ``things/<name>.pem``/``.key`` (the harness's identity comes from a second
CA in ``harness/``, see harness.mqtt.lab). Private keys are written 0600 and
never logged. Existing files are reused, so certificates stay put across ``lab up`` runs.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import os
import re
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from harness.errors import FailureClass, LabError

THING_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.:-]{0,127}", re.ASCII)  # AWS IoT thing name characters
VALIDITY = dt.timedelta(days=825)


@dataclass(frozen=True)
class KeyPair:
    cert: Path
    key: Path


def _write_private(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as out:
        out.write(data)
    os.chmod(tmp, 0o600)
    tmp.replace(path)


def _write_public(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_bytes(data)
    tmp.replace(path)


def _new_key() -> ec.EllipticCurvePrivateKey:
    return ec.generate_private_key(ec.SECP256R1())


def _key_bytes(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption())


class CertificateAuthority:
    """A lab CA in ``directory``; made on first use, loaded afterwards."""

    def __init__(self, directory: Path, name: str = "edge-hil lab CA") -> None:
        self.directory = Path(directory)
        self.directory.mkdir(parents=True, exist_ok=True)
        os.chmod(self.directory, 0o700)
        self.ca = KeyPair(self.directory / "ca.pem", self.directory / "ca.key")
        if not (self.ca.cert.exists() and self.ca.key.exists()):
            key = _new_key()
            subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
            now = dt.datetime.now(dt.UTC)
            cert = (x509.CertificateBuilder().subject_name(subject).issuer_name(subject)
                    .public_key(key.public_key()).serial_number(x509.random_serial_number())
                    .not_valid_before(now - dt.timedelta(minutes=5)).not_valid_after(now + VALIDITY)
                    .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
                    .add_extension(x509.KeyUsage(digital_signature=True, key_cert_sign=True, crl_sign=True,
                                                 content_commitment=False, key_encipherment=False,
                                                 data_encipherment=False, key_agreement=False,
                                                 encipher_only=False, decipher_only=False), critical=True)
                    .sign(key, hashes.SHA256()))
            _write_private(self.ca.key, _key_bytes(key))
            _write_public(self.ca.cert, cert.public_bytes(serialization.Encoding.PEM))
        self._cert = x509.load_pem_x509_certificate(self.ca.cert.read_bytes())
        loaded = serialization.load_pem_private_key(self.ca.key.read_bytes(), None)
        assert isinstance(loaded, ec.EllipticCurvePrivateKey)
        self._key = loaded

    def _issue(self, pair: KeyPair, common_name: str, *, server_ips: list[str] | None = None,
               server_names: list[str] | None = None) -> KeyPair:
        key = _new_key()
        now = dt.datetime.now(dt.UTC)
        usage = ExtendedKeyUsageOID.SERVER_AUTH if server_ips is not None else ExtendedKeyUsageOID.CLIENT_AUTH
        builder = (x509.CertificateBuilder()
                   .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)]))
                   .issuer_name(self._cert.subject).public_key(key.public_key())
                   .serial_number(x509.random_serial_number())
                   .not_valid_before(now - dt.timedelta(minutes=5)).not_valid_after(now + VALIDITY)
                   .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
                   .add_extension(x509.ExtendedKeyUsage([usage]), critical=False))
        if server_ips is not None:
            names: list[x509.GeneralName] = [x509.DNSName(name) for name in server_names or ["localhost"]]
            names += [x509.IPAddress(ipaddress.ip_address(ip)) for ip in server_ips]
            builder = builder.add_extension(x509.SubjectAlternativeName(names), critical=False)
        cert = builder.sign(self._key, hashes.SHA256())
        _write_private(pair.key, _key_bytes(key))
        _write_public(pair.cert, cert.public_bytes(serialization.Encoding.PEM))
        return pair

    def server(self, ips: list[str], names: tuple[str, ...] = ()) -> KeyPair:
        """The broker's certificate for these addresses and DNS names (``localhost`` always; e.g.
        ``host.docker.internal``, the name published-mode cores connect by); reissued when either set changes."""
        pair = KeyPair(self.directory / "server.pem", self.directory / "server.key")
        wanted = {ipaddress.ip_address(ip) for ip in ips}
        dns = sorted({"localhost", *names})
        if pair.cert.exists() and pair.key.exists():
            cert = x509.load_pem_x509_certificate(pair.cert.read_bytes())
            san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
            if set(san.get_values_for_type(x509.IPAddress)) == wanted and \
                    sorted(san.get_values_for_type(x509.DNSName)) == dns:
                return pair
        return self._issue(pair, "edge-hil lab broker", server_ips=sorted(ips), server_names=dns)

    def thing(self, name: str) -> KeyPair:
        """The client certificate of thing ``name`` (CN = name), made once."""
        if not THING_RE.fullmatch(name):
            raise LabError(f"thing name {name[:60]!r} must be 1-128 of A-Z a-z 0-9 _ . : -",
                           step="iot certificates", failure_class=FailureClass.INVENTORY)
        pair = KeyPair(self.directory / "things" / f"{name}.pem", self.directory / "things" / f"{name}.key")
        if pair.cert.exists() and pair.key.exists():
            return pair
        return self._issue(pair, name)
