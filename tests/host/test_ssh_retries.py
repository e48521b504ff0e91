"""Transient SSH faults are retried and recorded, with real processes: OpenSSH's sshd on a loopback port
and, in front of it, a TCP proxy that resets the connections it is told to (SO_LINGER 0: an RST).

A reset during the connection (before or in the banner exchange) is retried with backoff and
recorded; a refused port is not transient and fails at once, unrecorded.
"""

from __future__ import annotations

import os
import shutil
import socket
import struct
import subprocess
import threading
import time
from pathlib import Path

import pytest

from harness.errors import DeviceUnreachable
from harness.transport import retry
from harness.transport.ssh import SSHOptions, SSHTransport

SSHD = "/usr/sbin/sshd"
pytestmark = pytest.mark.skipif(not Path(SSHD).exists() or os.geteuid() != 0 or shutil.which("ssh-keygen") is None,
                                reason="needs OpenSSH's sshd and ssh-keygen, run as root")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class ResettingProxy:
    """Forwards 127.0.0.1:port to ``target``; the first ``resets`` connections get an RST instead."""

    def __init__(self, target: int, resets: int) -> None:
        self.target, self.resets, self.accepted = target, resets, 0
        self.server = socket.create_server(("127.0.0.1", 0))
        self.port = self.server.getsockname()[1]
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        while True:
            try:
                conn, _ = self.server.accept()
            except OSError:
                return
            self.accepted += 1
            if self.accepted <= self.resets:
                conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                conn.close()
                continue
            upstream = socket.create_connection(("127.0.0.1", self.target))
            for a, b in ((conn, upstream), (upstream, conn)):
                threading.Thread(target=self._pipe, args=(a, b), daemon=True).start()

    @staticmethod
    def _pipe(a: socket.socket, b: socket.socket) -> None:
        try:
            while data := a.recv(65536):
                b.sendall(data)
        except OSError:
            pass
        finally:
            for s in (a, b):
                try:
                    s.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass

    def close(self) -> None:
        self.server.close()


@pytest.fixture
def sshd(tmp_path: Path):
    """A private sshd on a loopback port that lets root in with a key made here."""
    for name in ("host", "user"):
        subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(tmp_path / name)], check=True)
    (tmp_path / "authorized_keys").write_text((tmp_path / "user.pub").read_text())
    port = free_port()
    config = tmp_path / "sshd_config"
    config.write_text(f"Port {port}\nListenAddress 127.0.0.1\nHostKey {tmp_path / 'host'}\n"
                      f"AuthorizedKeysFile {tmp_path / 'authorized_keys'}\nPermitRootLogin prohibit-password\n"
                      f"StrictModes no\nUsePAM no\nPidFile {tmp_path / 'sshd.pid'}\nSubsystem sftp internal-sftp\n")
    proc = subprocess.Popen([SSHD, "-D", "-e", "-f", str(config)], stderr=subprocess.DEVNULL)
    for _ in range(100):
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            break
        except OSError:
            time.sleep(0.05)
    yield port, tmp_path
    proc.terminate()
    proc.wait(timeout=10)


def transport_via(proxy: ResettingProxy, tmp_path: Path) -> SSHTransport:
    host_key = (tmp_path / "host.pub").read_text().split()
    known = tmp_path / "known_hosts"
    known.write_text(f"[127.0.0.1]:{proxy.port} {host_key[0]} {host_key[1]}\n")
    return SSHTransport("flaky-pi", SSHOptions("127.0.0.1", "root", proxy.port, tmp_path / "user", None, known))


def test_a_reset_connection_is_retried_with_backoff_and_recorded(sshd):
    port, tmp_path = sshd
    proxy = ResettingProxy(port, resets=2)
    retry.drain()
    start = time.monotonic()
    with transport_via(proxy, tmp_path) as transport:
        result = transport.check(["echo", "through"], timeout=30, step="echo")
        (tmp_path / "payload").write_bytes(os.urandom(1 << 20))
        transport.put(tmp_path / "payload", str(tmp_path / "copy"), timeout=30)
    took = time.monotonic() - start
    proxy.close()
    assert result.stdout.strip() == "through"
    assert (tmp_path / "copy").read_bytes() == (tmp_path / "payload").read_bytes()
    retries = retry.drain()
    print(f"\n{len(retries)} retries, {took:.2f} s: {[r.as_dict() for r in retries]}")
    assert [(r.device, r.step, r.attempt, r.delay_s) for r in retries] == [
        ("flaky-pi", "connect", 1, retry.FIRST_DELAY_S),
        ("flaky-pi", "connect", 2, retry.FIRST_DELAY_S * retry.BACKOFF)]
    assert all("reset" in r.cause or "banner" in r.cause or "closed" in r.cause for r in retries), retries
    assert proxy.accepted == 3


def test_resets_beyond_the_bound_fail_and_a_refused_port_is_not_retried(sshd):
    port, tmp_path = sshd
    proxy = ResettingProxy(port, resets=retry.ATTEMPTS)
    retry.drain()
    with pytest.raises(DeviceUnreachable), transport_via(proxy, tmp_path) as transport:
        transport.run(["true"], timeout=30)
    assert len(retry.drain()) == retry.ATTEMPTS - 1 and proxy.accepted == retry.ATTEMPTS
    proxy.close()
    closed = SSHTransport("off-pi", SSHOptions("127.0.0.1", "root", free_port(), tmp_path / "user", None, None))
    with pytest.raises(DeviceUnreachable):
        closed.run(["true"], timeout=10)
    assert retry.drain() == []
