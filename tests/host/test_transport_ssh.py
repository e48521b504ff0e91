"""SSHTransport against real OpenSSH servers: host keys trusted on first use and saved, the user's
known_hosts never rewritten, and every command and transfer bounded when the server stops answering."""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from paramiko import HostKeys

from harness.errors import CommandTimeout, DeviceUnreachable, HostKeyMismatch
from harness.transport.ssh import SSHOptions, SSHTransport
from tests.host.sshd import MuteServer, SilentProxy, Sshd, keygen, start_sshd


@pytest.fixture
def sshd(tmp_path: Path) -> Iterator[Sshd]:
    server = start_sshd(tmp_path / "sshd")
    yield server
    server.stop()


def transport(server: Sshd, known_hosts: Path, *, auto_add: bool, port: int | None = None,
              connect_timeout: float = 10.0) -> SSHTransport:
    return SSHTransport("dut", SSHOptions("127.0.0.1", server.user, port or server.port, server.client_key,
                                          None, known_hosts, auto_add, connect_timeout))


def within(seconds: float, call: Callable[[], Any]) -> BaseException | None:
    """The exception ``call`` raised, failing the test if it has not returned after ``seconds``."""
    caught: list[BaseException | None] = [None]

    def body() -> None:
        try:
            call()
        except BaseException as exc:  # noqa: BLE001 - handed to the test
            caught[0] = exc

    worker = threading.Thread(target=body, daemon=True)
    worker.start()
    worker.join(seconds)
    assert not worker.is_alive(), f"still blocked after {seconds} s"
    return caught[0]


def test_auto_add_without_a_file_saves_the_key_then_verifies_it(sshd, tmp_path):
    known = tmp_path / "ssh" / "known_hosts"
    t = transport(sshd, known, auto_add=True)
    assert t.run("echo hi", timeout=10).stdout == "hi\n"
    t.close()
    assert known.read_text().splitlines() == [sshd.host_key_line]
    strict = transport(sshd, known, auto_add=False)  # the saved key is what the next connection checks
    assert strict.run("echo again", timeout=10).stdout == "again\n"
    strict.close()
    sshd.stop()
    impostor = start_sshd(tmp_path / "impostor", port=sshd.port, client_key=sshd.client_key)
    try:
        with pytest.raises(HostKeyMismatch):
            transport(impostor, known, auto_add=True).run("true", timeout=10)
    finally:
        impostor.stop()
    assert known.read_text().splitlines() == [sshd.host_key_line]


def test_auto_add_appends_and_keeps_every_line_the_user_wrote(sshd, tmp_path):
    known = tmp_path / "known_hosts"
    other = keygen(tmp_path / "other").with_suffix(".pub").read_text().split()
    theirs = ("# lab switch, verified 2026-11-02\n"
              f"@cert-authority *.lab.example {other[0]} {other[1]}\n"
              "gw.example ssh-future-kem AAAAB3NzaC1yc2EAAAADAQABAAABgQ\n"
              f"{HostKeys.hash_host('gw2.example')} {other[0]} {other[1]}\n"
              f"|1|not-base64|either {other[0]} {other[1]}\n")
    known.write_text(theirs)
    known.chmod(0o644)
    t = transport(sshd, known, auto_add=True)
    t.run("true", timeout=10)
    t.close()
    assert known.read_text() == theirs + sshd.host_key_line + "\n"
    assert known.stat().st_mode & 0o777 == 0o644


def test_parallel_first_connections_save_one_line(sshd, tmp_path):
    known = tmp_path / "known_hosts"

    def connect(_: int) -> str:
        t = transport(sshd, known, auto_add=True)
        try:
            return t.run("echo ok", timeout=20).stdout
        finally:
            t.close()

    with ThreadPoolExecutor(6) as pool:
        assert list(pool.map(connect, range(6))) == ["ok\n"] * 6
    assert known.read_text().splitlines() == [sshd.host_key_line]


@pytest.mark.parametrize("forwarded", [0, 1], ids=["channel-open-unanswered", "exec-request-unanswered"])
def test_run_is_bounded_when_the_server_stops_answering(sshd, tmp_path, forwarded):
    proxy = SilentProxy(sshd.port)
    known = tmp_path / "known_hosts"
    t = transport(sshd, known, auto_add=True, port=proxy.port)
    assert t.run("true", timeout=10).exit_status == 0
    proxy.go_silent(after_chunks=forwarded)
    started = time.monotonic()
    exc = within(8, lambda: t.run("true", timeout=2))
    assert isinstance(exc, CommandTimeout), exc
    assert time.monotonic() - started < 4
    proxy.close()


def test_stdin_writes_have_a_deadline(sshd, tmp_path):
    proxy = SilentProxy(sshd.port)
    t = transport(sshd, tmp_path / "known_hosts", auto_add=True, port=proxy.port)
    assert t.run("true", timeout=10).exit_status == 0
    proxy.go_silent(after_chunks=3)  # channel open, exec request, then the first stdin data
    exc = within(8, lambda: t.run("cat > /dev/null", timeout=2, stdin=b"x" * (32 << 20)))
    assert isinstance(exc, CommandTimeout), exc
    proxy.close()


@pytest.mark.parametrize("forwarded", [0, 1], ids=["channel-open-unanswered", "subsystem-request-unanswered"])
def test_sftp_is_bounded_before_its_channel_timeout_applies(sshd, tmp_path, forwarded):
    proxy = SilentProxy(sshd.port)
    t = transport(sshd, tmp_path / "known_hosts", auto_add=True, port=proxy.port)
    src = tmp_path / "payload"
    src.write_bytes(b"model" * 1000)
    t.put(src, str(tmp_path / "copy"), timeout=10)
    assert (tmp_path / "copy").read_bytes() == src.read_bytes()
    proxy.go_silent(after_chunks=forwarded)
    exc = within(8, lambda: t.put(src, str(tmp_path / "copy2"), timeout=2))
    assert isinstance(exc, CommandTimeout), exc
    proxy.close()


def test_a_transfer_is_bounded_when_the_link_black_holes_it_mid_way(sshd, tmp_path):
    """The link stops carrying bytes 1 MiB into a put (no reads, no ACKs): the socket fills, and paramiko's write
    waits for room in it holding the transport's send locks; the deadline still ends it, typed, and the next
    transfer on a good link works."""
    proxy = SilentProxy(sshd.port, recv_buffer=64 << 10)  # a buffer far below the SFTP window (2 MiB)
    t = transport(sshd, tmp_path / "known_hosts", auto_add=True, port=proxy.port)
    src = tmp_path / "payload"
    src.write_bytes(os.urandom(16 << 20))
    assert t.run("true", timeout=10).exit_status == 0
    proxy.stall(after_bytes=1 << 20)
    started = time.monotonic()
    exc = within(12, lambda: t.put(src, str(tmp_path / "copy"), timeout=3))
    assert isinstance(exc, CommandTimeout), exc
    assert time.monotonic() - started < 6
    assert str(exc).startswith("dut: put: [timeout]") and "stopped answering" in str(exc)
    proxy.close()
    direct = transport(sshd, tmp_path / "known_hosts", auto_add=True)
    direct.put(src, str(tmp_path / "copy"), timeout=30)
    assert (tmp_path / "copy").read_bytes() == src.read_bytes()


def test_a_server_that_never_sends_its_banner_is_unreachable_in_bounded_time(tmp_path):
    mute = MuteServer()
    t = SSHTransport("dut", SSHOptions("127.0.0.1", "root", mute.port, None, None, tmp_path / "kh", True, 2.0))
    started = time.monotonic()
    exc = within(8, lambda: t.run("true", timeout=2))
    assert isinstance(exc, DeviceUnreachable), exc
    assert time.monotonic() - started < 5
    mute.close()
