"""A private OpenSSH server on 127.0.0.1 (Debian's openssh-server) and a TCP proxy that can stop answering.

Each server has its own config, host key and authorized key in a temporary directory; nothing of the
machine's own sshd is used. The proxy forwards bytes until told to go silent: from then on it reads and
discards what either side sends, like a device whose sshd hangs; or until told to stall: from then on it reads
nothing, so the sender's socket fills and its writes block, like a link that black-holes traffic (no ACKs).
"""

from __future__ import annotations

import os
import pwd
import shutil
import socket
import subprocess
import threading
import time
from dataclasses import dataclass
from pathlib import Path

SSHD = shutil.which("sshd") or "/usr/sbin/sshd"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def keygen(path: Path, kind: str = "ed25519") -> Path:
    subprocess.run(["ssh-keygen", "-q", "-t", kind, "-N", "", "-f", str(path)], check=True)
    return path


@dataclass
class Sshd:
    port: int
    host_key: Path
    client_key: Path
    user: str
    process: subprocess.Popen[bytes]

    @property
    def host_key_line(self) -> str:
        """The server's key as a known_hosts line for ``[127.0.0.1]:port``."""
        kind, b64 = self.host_key.with_suffix(".pub").read_text().split()[:2]
        return f"[127.0.0.1]:{self.port} {kind} {b64}"

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(10)


def start_sshd(root: Path, *, port: int | None = None, host_key: Path | None = None,
               client_key: Path | None = None) -> Sshd:
    """sshd -D on 127.0.0.1, accepting ``client_key`` for the current user; waits until it listens."""
    if not Path(SSHD).exists():
        raise FileNotFoundError(f"{SSHD}: install Debian's openssh-server")
    Path("/run/sshd").mkdir(mode=0o755, exist_ok=True)  # its privilege-separation directory
    root.mkdir(parents=True, exist_ok=True)
    port = port or free_port()
    host_key = host_key or keygen(root / "host_ed25519")
    client_key = client_key or keygen(root / "client_ed25519")
    authorized = root / "authorized_keys"
    authorized.write_text(client_key.with_suffix(".pub").read_text())
    authorized.chmod(0o600)
    config = root / "sshd_config"
    config.write_text(f"ListenAddress 127.0.0.1\nPort {port}\nHostKey {host_key}\nAuthorizedKeysFile {authorized}\n"
                      "PasswordAuthentication no\nKbdInteractiveAuthentication no\nUsePAM no\nStrictModes no\n"
                      "PermitRootLogin prohibit-password\nPidFile none\nLogLevel ERROR\n"
                      "Subsystem sftp /usr/lib/openssh/sftp-server\n")
    proc = subprocess.Popen([SSHD, "-D", "-e", "-f", str(config)], stderr=open(root / "sshd.log", "ab"))
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"sshd exited {proc.returncode}: {(root / 'sshd.log').read_text()}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5) as s:
                if s.recv(4).startswith(b"SSH-"):
                    break
        except OSError:
            time.sleep(0.05)
    else:
        proc.kill()
        raise RuntimeError("sshd did not listen within 10 s")
    return Sshd(port, host_key, client_key, pwd.getpwuid(os.getuid()).pw_name, proc)


class SilentProxy:
    """127.0.0.1:port -> target; ``go_silent(after_chunks)`` forwards that many more client chunks, then none;
    ``stall(after_bytes)`` forwards that many more client bytes, then reads nothing more from either side."""

    def __init__(self, target_port: int, *, recv_buffer: int | None = None) -> None:
        self.target_port = target_port
        self.listener = socket.socket()
        if recv_buffer:  # inherited by accepted sockets: a fixed, small buffer (no autotuning)
            self.listener.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, recv_buffer)
        self.listener.bind(("127.0.0.1", 0))
        self.listener.listen()
        self.port = self.listener.getsockname()[1]
        self._budget: int | None = None  # client->server chunks still forwarded; None: all
        self._silent = threading.Event()
        self._bytes_left: int | None = None  # client->server bytes still forwarded before the stall; None: all
        self._stalled = threading.Event()
        self._closed = threading.Event()
        self._lock = threading.Lock()
        threading.Thread(target=self._accept, daemon=True).start()

    def stall(self, after_bytes: int = 0) -> None:
        with self._lock:
            self._bytes_left = after_bytes

    def go_silent(self, after_chunks: int = 0) -> None:
        with self._lock:
            self._budget = after_chunks
            if after_chunks == 0:
                self._silent.set()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            server = socket.create_connection(("127.0.0.1", self.target_port))
            threading.Thread(target=self._pump, args=(client, server, True), daemon=True).start()
            threading.Thread(target=self._pump, args=(server, client, False), daemon=True).start()

    def _pump(self, src: socket.socket, dst: socket.socket, upstream: bool) -> None:
        while True:
            if self._stalled.is_set():
                self._closed.wait()  # read nothing: the kernel buffers fill, then the sender's writes block
                return
            try:
                data = src.recv(65536)
            except OSError:
                return
            if not data:
                return
            with self._lock:
                if upstream and self._bytes_left is not None:
                    data = data[:self._bytes_left]
                    self._bytes_left -= len(data)
                    if self._bytes_left == 0:
                        self._stalled.set()
                if upstream and self._budget is not None and not self._silent.is_set():
                    if self._budget == 0:
                        self._silent.set()
                    self._budget -= 1
                forward = not self._silent.is_set()
            if forward:
                try:
                    dst.sendall(data)
                except OSError:
                    return

    def close(self) -> None:
        self.listener.close()
        self._closed.set()


class MuteServer:
    """Accepts TCP connections on 127.0.0.1 and never sends a byte (not even an SSH banner)."""

    def __init__(self) -> None:
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self._held: list[socket.socket] = []
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                conn, _ = self.listener.accept()
            except OSError:
                return
            self._held.append(conn)

    def close(self) -> None:
        self.listener.close()
        for conn in self._held:
            conn.close()
