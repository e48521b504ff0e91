"""Devices over OpenSSH, with paramiko: host keys verified, one reused connection, bounded everything.

Host keys come from a known_hosts file named in the inventory; an unknown key is refused unless the
inventory opts into auto-add, which trusts it on first use and saves it (harness.transport.known_hosts);
a changed key is always refused. paramiko waits without a deadline for the reply to a channel request
(exec, subsystem), for send window, and for room in the socket (``Packetizer.write_all`` retries a full
socket until the connection is closed, holding the transport's send locks), so every request, stdin write
and whole transfer runs under a watchdog that closes the SSH connection at the deadline: a peer that stops
answering, or a link that black-holes traffic, costs the timeout, not forever. Connecting counts against
the same deadline.
TCP_NODELAY is set: without it every exec waits on
Nagle's algorithm and a delayed ACK, and costs ~44 ms instead of ~2.4 ms.
A reset or dropped link is retried where that is safe (harness.transport.retry) and each retry
recorded.
"""

from __future__ import annotations

import os
import select
import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import paramiko

from harness.errors import (
    AuthenticationFailed,
    CommandTimeout,
    DeviceUnreachable,
    HostKeyMismatch,
    TransferError,
    TransportError,
)
from harness.primitives.deadline import Timeout
from harness.primitives.progress import TransferProgress
from harness.transport.base import DEFAULT_TIMEOUT, Command, CommandResult, Transport, bounded, to_shell
from harness.transport.known_hosts import TrustOnFirstUse, load
from harness.transport.registry import TransportSpec, register
from harness.transport.retry import retrying, transient

CONNECT_TIMEOUT = 10.0
_READ = 65536


@dataclass(frozen=True)
class SSHOptions:
    host: str
    user: str
    port: int = 22
    key_file: Path | None = None
    password: str | None = None  # never logged; comes from an environment variable named in the inventory
    known_hosts: Path | None = None
    auto_add_host_key: bool = False
    connect_timeout: float = CONNECT_TIMEOUT


#: The login user when a hostspec names none (the emulated cores' user).
DEFAULT_USER = "hil"
#: Where auto-add saves keys when the inventory names no known_hosts file (as OpenSSH's accept-new does).
USER_KNOWN_HOSTS = Path("~/.ssh/known_hosts")


class _Watchdog:
    """Closes ``chan``'s SSH connection when ``deadline`` expires; ``fired`` says whether it did.

    The connection, not only the channel: closing a channel sends a message, which waits for the send lock
    that a write blocked on a full socket holds; closing the transport marks its packetizer closed, which
    ends that write (EOFError), and unlinks every channel, which wakes each wait on them.
    """

    def __init__(self, chan: paramiko.Channel, deadline: Timeout) -> None:
        self.fired = False
        self._chan = chan
        self._timer = threading.Timer(max(deadline.remaining, 0), self._fire)
        self._timer.daemon = True

    def _fire(self) -> None:
        self.fired = True
        self._chan.get_transport().close()


@contextmanager
def _watched(chan: paramiko.Channel, deadline: Timeout) -> Iterator[_Watchdog]:
    dog = _Watchdog(chan, deadline)
    dog._timer.start()
    try:
        yield dog
    finally:
        dog._timer.cancel()


@register("ssh")
class SSHTransport(Transport):
    """``ssh://[user@]host[:port]``: OpenSSH servers, keys or a password from the environment."""

    def __init__(self, device: str, options: SSHOptions) -> None:
        super().__init__(device)
        self.options = options
        self._client: paramiko.SSHClient | None = None

    @classmethod
    def from_spec(cls, spec: TransportSpec) -> SSHTransport:
        host, creds = spec.hostspec, spec.credentials
        return cls(spec.device, SSHOptions(host.host, host.user or DEFAULT_USER, host.port or 22, creds.key_file,
                                           creds.password, creds.known_hosts, creds.auto_add_host_key))

    def __repr__(self) -> str:
        return f"SSHTransport({self.device!r}, {self.options.user}@{self.options.host}:{self.options.port})"

    # -- connection ---------------------------------------------------------------------------
    def _connect(self, deadline: Timeout) -> paramiko.SSHClient:
        """The connection, made if needed; each of its steps waits at most the connect timeout, and never past
        ``deadline`` (CommandTimeout when nothing of it is left)."""
        if self._client is not None:
            transport = self._client.get_transport()
            if transport is not None and transport.is_active():
                return self._client
            self.close()
        opts = self.options
        client = paramiko.SSHClient()
        known_hosts = opts.known_hosts or (USER_KNOWN_HOSTS.expanduser() if opts.auto_add_host_key else None)
        if known_hosts:
            # Never client.load_host_keys: it raises on lines it cannot parse, and AutoAddPolicy would
            # rewrite the file from what it parsed (TrustOnFirstUse appends instead).
            for hostname, keys in load(known_hosts).items():
                for kind in keys.keys():
                    client.get_host_keys().add(hostname, kind, keys[kind])
        if opts.auto_add_host_key:
            client.set_missing_host_key_policy(TrustOnFirstUse(known_hosts))
        else:
            client.set_missing_host_key_policy(paramiko.RejectPolicy())
        where = f"{opts.user}@{opts.host}:{opts.port}"

        def attempt() -> None:
            limit = min(opts.connect_timeout, deadline.remaining)
            if limit <= 0:
                raise CommandTimeout(f"no time left to connect to {where} (limit {deadline.seconds:g} s)",
                                     device=self.device, step="connect")
            client.connect(opts.host, port=opts.port, username=opts.user,
                           key_filename=str(opts.key_file) if opts.key_file else None, password=opts.password,
                           timeout=limit, banner_timeout=limit, auth_timeout=limit, channel_timeout=limit,
                           allow_agent=False, look_for_keys=False)

        try:
            retrying(self.device, "connect", attempt)
        except paramiko.BadHostKeyException as exc:
            raise HostKeyMismatch(
                f"host key of {where} is {exc.key.get_name()} {exc.key.get_fingerprint().hex()}, "
                f"known_hosts {opts.known_hosts} expects {exc.expected_key.get_fingerprint().hex()}",
                device=self.device, step="connect",
                advice="the device was reinstalled or someone is in the middle: verify the new key "
                       "out of band, then replace its line in known_hosts") from None
        except paramiko.AuthenticationException as exc:
            raise AuthenticationFailed(f"{where} refused our credentials: {exc}", device=self.device,
                                       step="connect",
                                       advice="check the key file and the device's authorized_keys") from None
        except paramiko.SSHException as exc:
            if "not found in known_hosts" in str(exc):
                raise HostKeyMismatch(
                    f"{where} is not in known_hosts {opts.known_hosts}", device=self.device, step="connect",
                    advice="verify the device's host key and add it (ssh-keyscan), or set "
                           "auto_add_host_key: true for this device in the lab file") from None
            raise DeviceUnreachable(f"ssh to {where}: {exc}", device=self.device, step="connect") from None
        except (OSError, EOFError) as exc:
            reason = "timed out" if isinstance(exc, TimeoutError | socket.timeout) else str(exc)
            raise DeviceUnreachable(f"cannot connect to {where}: {reason}", device=self.device,
                                    step="connect",
                                    advice="is the device powered, on the network and running sshd?") from None
        transport = client.get_transport()
        assert transport is not None
        transport.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        transport.set_keepalive(15)
        self._client = client
        return client

    def close(self) -> None:
        if self._client is not None:
            self._client.close()
            self._client = None

    def _session(self, deadline: Timeout, step: str) -> paramiko.Channel:
        """A new channel; its open is bounded by the connect timeout and what is left of ``deadline``."""
        transport = self._connect(deadline).get_transport()
        assert transport is not None
        try:
            return transport.open_session(timeout=max(min(self.options.connect_timeout, deadline.remaining), 0.01))
        except paramiko.SSHException:
            if not deadline.expired:
                raise
            self.close()
            raise CommandTimeout(f"no channel opened within {deadline.elapsed:.1f} s: the device stopped answering",
                                 device=self.device, step=step) from None

    # -- commands -----------------------------------------------------------------------------
    def run(self, command: Command, *, timeout: float = DEFAULT_TIMEOUT, stdin: bytes | None = None,
            env: dict[str, str] | None = None) -> CommandResult:
        line = to_shell(command)
        deadline = Timeout(timeout)
        try:
            # Retried only until the command is sent: after that it may have run.
            chan = retrying(self.device, "exec", lambda: self._session(deadline, "exec"), before_retry=self.close)
            with _watched(chan, deadline) as dog:
                try:
                    self._exec(chan, bounded(line, timeout, env), stdin, deadline)
                except (paramiko.SSHException, OSError, EOFError) as exc:
                    if not (dog.fired or isinstance(exc, TimeoutError)):
                        raise
                    self.close()  # the peer stopped answering mid-request: the connection is suspect
                    raise CommandTimeout(f"`{line}`: no answer from the device within {timeout:g} s",
                                         device=self.device, step="exec") from None
            out, err = bytearray(), bytearray()
            while True:
                remaining = deadline.remaining
                if chan.recv_ready():
                    out += chan.recv(_READ)
                elif chan.recv_stderr_ready():
                    err += chan.recv_stderr(_READ)
                elif chan.eof_received:
                    # Both streams are done; the exit status is the next message. Waiting on its event
                    # (not on the channel's pipe, which it does not touch) saves a wake-up per command.
                    if chan.status_event.wait(max(remaining, 0)):
                        break
                    remaining = 0
                elif remaining > 0:
                    select.select([chan], [], [], min(remaining, 0.5))
                if remaining <= 0:
                    chan.close()
                    raise CommandTimeout(f"`{line}` still running after {timeout:g} s; killed",
                                         device=self.device, step="exec")
            status = chan.recv_exit_status()
            chan.close()
        except (paramiko.SSHException, OSError, EOFError) as exc:
            self.close()
            raise DeviceUnreachable(f"connection lost during `{line}`: {exc}", device=self.device,
                                    step="exec") from None
        stderr = err.decode(errors="replace")
        if status == -1:  # paramiko drops "exit-signal": the session's own process was killed
            status = 255
            stderr += "\n(the remote command ended without an exit status: killed by a signal)"
        return CommandResult(line, status, out.decode(errors="replace"), stderr)

    @staticmethod
    def _exec(chan: paramiko.Channel, wrapped: str, stdin: bytes | None, deadline: Timeout) -> None:
        chan.settimeout(max(deadline.remaining, 0.01))  # the stdin writes' deadline (send window waits)
        chan.exec_command(wrapped)
        if stdin:
            chan.sendall(stdin)
        chan.shutdown_write()
        chan.settimeout(None)

    # -- files --------------------------------------------------------------------------------
    def _sftp_transfer(self, step: str, src: str, dst: str, timeout: float,
                       progress: TransferProgress | None) -> None:
        deadline = Timeout(timeout)
        moved = [0, 0]  # bytes done, of total: what a timeout reports

        def tick(done: int, total: int) -> None:
            moved[:] = [done, total]
            if deadline.expired:
                raise CommandTimeout(f"{step} {src} -> {dst} not done after {timeout:g} s "
                                     f"({done}/{total} bytes)", device=self.device, step=step)
            if progress:
                progress(done, total)

        def transfer() -> None:  # the whole file again: the same bytes to the same path
            opened = False
            try:
                chan = self._session(deadline, step)
                with _watched(chan, deadline) as dog:
                    try:
                        chan.invoke_subsystem("sftp")
                        chan.settimeout(max(deadline.remaining, 0.01))  # each reply and send-window wait
                        sftp = paramiko.SFTPClient(chan)  # the version handshake: a read under that timeout
                        opened = True
                        try:
                            (sftp.put if step == "put" else sftp.get)(src, dst, callback=tick)
                        finally:
                            sftp.close()
                    except (paramiko.SSHException, OSError, EOFError):
                        if not (dog.fired or deadline.expired):
                            raise
                        self.close()  # the link went silent mid-transfer: the connection is suspect
                        where = f"{moved[0]}/{moved[1]} bytes" if opened else "SFTP not started"
                        raise CommandTimeout(f"{step} {src} -> {dst} not done within {timeout:g} s ({where}): "
                                             "the device stopped answering", device=self.device, step=step) from None
            except (paramiko.SSHException, OSError, EOFError) as exc:
                if opened or transient(exc):
                    raise
                raise DeviceUnreachable(f"cannot open SFTP: {exc}", device=self.device, step=step) from None

        try:
            retrying(self.device, step, transfer, before_retry=self.close)
        except TransportError:
            raise
        except (OSError, EOFError, paramiko.SSHException) as exc:
            reason = getattr(exc, "strerror", None) or str(exc) or transient(exc) or type(exc).__name__
            raise TransferError(f"{step} {src} -> {dst}: {reason}", device=self.device, step=step) from None

    def put(self, local: Path, remote: str, *, timeout: float = DEFAULT_TIMEOUT,
            progress: TransferProgress | None = None) -> None:
        self._sftp_transfer("put", os.fspath(local), remote, timeout, progress)

    def get(self, remote: str, local: Path, *, timeout: float = DEFAULT_TIMEOUT,
            progress: TransferProgress | None = None) -> None:
        Path(local).parent.mkdir(parents=True, exist_ok=True)
        self._sftp_transfer("get", remote, os.fspath(local), timeout, progress)
