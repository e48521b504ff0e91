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
import threading
import time
from pathlib import Path

import pytest

from harness.errors import DeviceUnreachable
from harness.transport import retry
from harness.transport.ssh import SSHOptions, SSHTransport
from tests.host.sshd import SSHD, Sshd, free_port, start_sshd

pytestmark = pytest.mark.skipif(not Path(SSHD).exists() or shutil.which("ssh-keygen") is None,
                                reason="needs OpenSSH's sshd and ssh-keygen")


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
    """A private sshd on a loopback port (tests.host.sshd) that lets this user in with a key made here."""
    server = start_sshd(tmp_path / "sshd")
    yield server, tmp_path
    server.stop()


def transport_via(proxy: ResettingProxy, server: Sshd) -> SSHTransport:
    known = server.client_key.parent / "known_hosts"
    kind, b64 = server.host_key.with_suffix(".pub").read_text().split()[:2]
    known.write_text(f"[127.0.0.1]:{proxy.port} {kind} {b64}\n")
    return SSHTransport("flaky-pi", SSHOptions("127.0.0.1", server.user, proxy.port, server.client_key, None, known))


def test_a_reset_connection_is_retried_with_backoff_and_recorded(sshd):
    server, tmp_path = sshd
    proxy = ResettingProxy(server.port, resets=2)
    retry.drain()
    start = time.monotonic()
    with transport_via(proxy, server) as transport:
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
    server, tmp_path = sshd
    proxy = ResettingProxy(server.port, resets=retry.ATTEMPTS)
    retry.drain()
    with pytest.raises(DeviceUnreachable), transport_via(proxy, server) as transport:
        transport.run(["true"], timeout=30)
    assert len(retry.drain()) == retry.ATTEMPTS - 1 and proxy.accepted == retry.ATTEMPTS
    proxy.close()
    closed = SSHTransport("off-pi", SSHOptions("127.0.0.1", server.user, free_port(), server.client_key, None, None))
    with pytest.raises(DeviceUnreachable):
        closed.run(["true"], timeout=10)
    assert retry.drain() == []
