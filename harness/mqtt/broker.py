"""mosquitto as the lab's AWS IoT Core stand-in: mutual TLS only, the certificate's CN as the username.

One broker per lab (or per test), with its own config, pid file and log in its directory; started
daemonized (``mosquitto -d``) and found again through the pid file, so ``hil lab down`` in another
process stops it.
"""

from __future__ import annotations

import getpass
import os
import shutil
import signal
import socket
import subprocess
from pathlib import Path
from typing import TYPE_CHECKING

from harness.errors import FailureClass, LabError
from harness.primitives.deadline import poll_until

if TYPE_CHECKING:
    from harness.mqtt.pki import KeyPair

START_TIMEOUT = 10.0


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket() as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def _listening(host: str, port: int, timeout: float = 0.5) -> bool:
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


def _bindable(host: str, port: int) -> bool:
    with socket.socket() as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError:
            return False
    return True


class Broker:
    """A mosquitto broker in ``directory`` listening with mTLS on ``port`` at each of ``addresses``."""

    def __init__(self, directory: Path, addresses: list[str], port: int, ca_file: Path, server: KeyPair) -> None:
        self.directory = Path(directory)
        self.addresses, self.port = list(addresses), port
        self.ca_file, self.server = ca_file, server
        self.conf = self.directory / "mosquitto.conf"
        self.pid_file = self.directory / "mosquitto.pid"
        self.log_file = self.directory / "mosquitto.log"

    def config_text(self) -> str:
        lines = [
            "# written by edge-hil: the lab's IoT Core stand-in (mutual TLS only)",
            "per_listener_settings false",
            "allow_anonymous false",
            "persistence false",
            f"pid_file {self.pid_file}",
            f"log_dest file {self.log_file}",
            "log_type error", "log_type warning", "log_type notice", "log_type information",
            "connection_messages true",
            # Root would otherwise switch to the `mosquitto` user, which cannot read the 0600 keys.
            f"user {getpass.getuser()}",
        ]
        for address in self.addresses:
            lines += [
                "", f"listener {self.port} {address}",
                f"cafile {self.ca_file}", f"certfile {self.server.cert}", f"keyfile {self.server.key}",
                "require_certificate true", "use_identity_as_username true", "tls_version tlsv1.2",
            ]
        return "\n".join(lines) + "\n"

    def pid(self) -> int | None:
        """The running broker's pid (checked against /proc, so a stale pid file is no broker)."""
        try:
            pid = int(self.pid_file.read_text().strip())
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
        except (OSError, ValueError):
            return None
        return pid if str(self.conf).encode() in cmdline and b"mosquitto" in cmdline[0] else None

    def _died(self) -> bool:
        """The pid file names a process that is gone (the daemon exited, e.g. its port was taken)."""
        try:
            pid = int(self.pid_file.read_text().strip())
        except (OSError, ValueError):
            return False
        return not Path(f"/proc/{pid}").exists()

    def start(self) -> None:
        """Start (or keep) the broker; raise LabError with mosquitto's own words when it will not run."""
        text = self.config_text()
        if self.pid() is not None and self.conf.exists() and self.conf.read_text() == text:
            return
        self.stop()
        exe = shutil.which("mosquitto") or ("/usr/sbin/mosquitto" if Path("/usr/sbin/mosquitto").exists() else None)
        if exe is None:
            raise LabError("mosquitto is not installed", step="iot broker", failure_class=FailureClass.HOST_SETUP,
                           advice="apt-get install mosquitto (./dev installs it)")
        for address in self.addresses:
            if not _bindable(address, self.port):
                raise LabError(f"cannot listen on {address}:{self.port}: the address or port is in use or absent",
                               step="iot broker", failure_class=FailureClass.HOST_SETUP,
                               advice=f"free the port, or delete {self.directory / 'broker.json'} to pick a new one")
        self.directory.mkdir(parents=True, exist_ok=True)
        self.conf.write_text(text)
        self.log_file.unlink(missing_ok=True)
        try:
            done = subprocess.run([exe, "-c", str(self.conf), "-d"], capture_output=True, text=True,
                                  timeout=START_TIMEOUT)
        except subprocess.TimeoutExpired:
            raise LabError(f"mosquitto did not daemonize within {START_TIMEOUT:g} s", step="iot broker",
                           failure_class=FailureClass.TIMEOUT) from None

        def outcome() -> str | None:
            if done.returncode == 0 and self.pid() is not None and all(
                    _listening(a, self.port) for a in self.addresses):
                return "listening"
            if done.returncode != 0 or self._died() or "Error:" in self.log_tail():
                return "failed"
            return None

        if poll_until(outcome, START_TIMEOUT, interval=0.05) == "listening":
            return
        self.stop()
        raise LabError(f"mosquitto did not start listening on port {self.port} at {', '.join(self.addresses)}: "
                       f"{(done.stderr.strip() or self.log_tail()).splitlines()[-1:] or ['no output']}",
                       step="iot broker", failure_class=FailureClass.HOST_SETUP,
                       advice=f"read {self.log_file}; another process may hold the port")

    def _processes(self) -> list[int]:
        """Every mosquitto running this broker's config, pid file written or not (a daemon still starting)."""
        found = []
        for entry in Path("/proc").iterdir():
            if entry.name.isdigit():
                try:
                    cmdline = (entry / "cmdline").read_bytes().split(b"\0")
                except OSError:
                    continue
                if b"mosquitto" in cmdline[0] and str(self.conf).encode() in cmdline:
                    found.append(int(entry.name))
        return found

    def stop(self, timeout: float = 10.0) -> bool:
        """Stop the broker if it runs; True when one was stopped."""
        pids = self._processes()
        for pid in pids:
            os.kill(pid, signal.SIGTERM)
        poll_until(lambda: not set(pids) & set(self._processes()), timeout, interval=0.05)
        for pid in set(pids) & set(self._processes()):
            os.kill(pid, signal.SIGKILL)
        self.pid_file.unlink(missing_ok=True)
        return bool(pids)

    def log_tail(self, lines: int = 5) -> str:
        try:
            return "\n".join(self.log_file.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""
