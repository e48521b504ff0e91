"""mosquitto as the lab's AWS IoT Core stand-in: mutual TLS only, each thing scoped to its own topics.

One broker per lab (or per test), with its own config, pid file and log; started daemonized
(``mosquitto -d``) and found again through the pid file, so ``hil lab down`` in another process stops it.

Two kinds of listener: the things' (one port, on every address the devices use) and the harness's (its
own port, loopback only). A things' listener trusts the lab CA, takes the certificate's CN as the username
and the client id (a thing cannot take over another's connection) and applies harness.mqtt.acl's
patterns; the harness's listener trusts only the harness CA and lets the harness read results. As root,
mosquitto drops to the ``mosquitto`` system user right after reading its config (eclipse/mosquitto
v2.0.11 src/mosquitto.c ``main``: ``drop_privileges`` before the pid file, the log, the listeners'
certificates and the ACL files are opened), so those live in a run directory that user owns.

The broker keeps sessions: with ``persistence true`` mosquitto writes its clients' persistent sessions (their
subscriptions and queued QoS 1 messages) to ``mosquitto.db`` in ``persistence_location`` when it exits and every
``autosave_interval`` seconds, and reloads them when it starts (mosquitto.conf(5), eclipse/mosquitto v2.0.11
man/mosquitto.conf.5.xml; src/persist_write.c ``persist__client_save`` saves each client whose clean_start is
false). The harness's subscriber holds such a session (harness.mqtt.subscriber), so results a thing publishes
while the broker restarts, or before the subscriber is back, wait in it: the restored session is tied to its
listener again by port (src/persist_read.c) and its ACLs are found before the listeners open (src/mosquitto.c
``main``). A restart (``stop(keep_sessions=True)``, then ``start``) keeps the store; ``stop`` alone removes it.
"""

from __future__ import annotations

import os
import pwd
import shutil
import signal
import socket
import subprocess
from pathlib import Path
from typing import TYPE_CHECKING

from harness.errors import FailureClass, LabError
from harness.mqtt.acl import HARNESS_ACL, THINGS_ACL
from harness.primitives.atomic import write_atomically
from harness.primitives.deadline import poll_until
from harness.primitives.digest import sha256_bytes

if TYPE_CHECKING:
    from harness.mqtt.pki import KeyPair

START_TIMEOUT = 10.0
#: The unprivileged user root's broker runs as (Debian's mosquitto package creates it).
BROKER_USER = "mosquitto"
#: Where a root-started broker's readable files go: the state directory (under /root) is not traversable.
RUN_ROOT = Path("/run/hil-mosquitto")
LOOPBACK = "127.0.0.1"
#: The session store is saved on exit and this often (s): a broker killed with SIGKILL loses what changed since.
AUTOSAVE_S = 60
#: A persistent session whose client has not come back for this long is dropped (a subscriber that crashed).
SESSION_EXPIRY = "1h"


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


def broker_user() -> pwd.struct_passwd | None:
    """The account a root-started broker switches to; None when not root (mosquitto keeps the caller's uid).

    Raises LabError when root has no ``mosquitto`` user: the broker is never left running as root.
    """
    if os.geteuid() != 0:
        return None
    try:
        return pwd.getpwnam(BROKER_USER)
    except KeyError:
        raise LabError(f"there is no `{BROKER_USER}` system user for the broker to run as (it will not run as "
                       "root)", step="iot broker", failure_class=FailureClass.HOST_SETUP,
                       advice="apt-get install mosquitto (its package creates the user), or run as a non-root "
                              "user") from None


class Broker:
    """A mosquitto broker for the lab in ``directory``: the things' listeners on ``port`` at each of
    ``addresses`` (trusting ``ca_file``), the harness's on ``harness_port`` at loopback (trusting ``harness_ca``)."""

    def __init__(self, directory: Path, addresses: list[str], port: int, ca_file: Path, server: KeyPair,
                 harness_port: int, harness_ca: Path) -> None:
        self.directory = Path(directory)
        self.addresses, self.port, self.harness_port = list(addresses), port, harness_port
        self.ca_file, self.server, self.harness_ca = ca_file, server, harness_ca
        self.conf = self.directory / "mosquitto.conf"  # read as root, before mosquitto drops privileges
        key = sha256_bytes(str(self.directory.resolve()).encode())[:16]
        self.run_dir = RUN_ROOT / key if os.geteuid() == 0 else self.directory / "broker"
        self.pid_file = self.run_dir / "mosquitto.pid"
        self.log_file = self.run_dir / "mosquitto.log"
        self.sessions_file = self.run_dir / "mosquitto.db"  # mosquitto's default persistence_file name

    def _files(self) -> dict[str, tuple[bytes, int]]:
        """What the broker reads after dropping privileges: name -> (content, mode). No CA key among them."""
        return {"ca.pem": (self.ca_file.read_bytes(), 0o644),
                "harness-ca.pem": (self.harness_ca.read_bytes(), 0o644),
                "server.pem": (self.server.cert.read_bytes(), 0o644),
                "server.key": (self.server.key.read_bytes(), 0o400),
                "things.acl": (THINGS_ACL.encode(), 0o644), "harness.acl": (HARNESS_ACL.encode(), 0o644)}

    def config_text(self, user: pwd.struct_passwd | None) -> str:
        files = self._files()
        # Any changed certificate or ACL changes this line, so `start` restarts a broker running the old ones.
        inputs = sha256_bytes(b"".join(sha256_bytes(data).encode() for data, _ in files.values()))
        run = self.run_dir
        lines = [
            "# written by edge-hil: the lab's IoT Core stand-in (mutual TLS only, things scoped by ACLs)",
            f"# inputs {inputs}",
            "per_listener_settings true",
            "persistence true", f"persistence_location {run}", f"autosave_interval {AUTOSAVE_S}",
            f"persistent_client_expiration {SESSION_EXPIRY}",
            f"pid_file {self.pid_file}",
            f"log_dest file {self.log_file}",
            "log_type error", "log_type warning", "log_type notice", "log_type information",
            "connection_messages true",
        ]
        if user is not None:
            lines.append(f"user {user.pw_name}")
        tls = [f"certfile {run / 'server.pem'}", f"keyfile {run / 'server.key'}", "require_certificate true",
               "use_identity_as_username true", "tls_version tlsv1.2", "allow_anonymous false"]
        for address in self.addresses:
            lines += ["", f"listener {self.port} {address}", f"cafile {run / 'ca.pem'}", *tls,
                      # the CN is the client id too: a thing cannot disconnect another by reusing its id
                      "use_username_as_clientid true", f"acl_file {run / 'things.acl'}"]
        # Several harness subscribers (one per xdist worker) share the harness identity: ids stay theirs here.
        lines += ["", f"listener {self.harness_port} {LOOPBACK}", f"cafile {run / 'harness-ca.pem'}", *tls,
                  f"acl_file {run / 'harness.acl'}"]
        return "\n".join(lines) + "\n"

    def _install_run_dir(self, user: pwd.struct_passwd | None) -> None:
        """The broker's own copies, owned by the user it runs as: the server key 0400, in a 0700 directory."""
        owner = (user.pw_uid, user.pw_gid) if user is not None else None
        if owner is not None:
            RUN_ROOT.mkdir(mode=0o755, exist_ok=True)
        self.run_dir.mkdir(parents=True, exist_ok=True)
        os.chmod(self.run_dir, 0o700)
        if owner is not None:
            os.chown(self.run_dir, *owner)
        for name, (data, mode) in self._files().items():
            write_atomically(self.run_dir / name, data, mode, owner)

    def pid(self) -> int | None:
        """The running broker's pid (checked against /proc, so a stale pid file is no broker)."""
        try:
            pid = int(self.pid_file.read_text().strip())
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
        except (OSError, ValueError):
            return None
        return pid if str(self.conf).encode() in cmdline and b"mosquitto" in cmdline[0] else None

    def current(self) -> bool:
        """Running with the configuration :meth:`start` would write now (an older one is restarted by it)."""
        try:
            text = self.config_text(broker_user())
        except (LabError, OSError):
            return False
        return self.pid() is not None and self.conf.exists() and self.conf.read_text() == text

    def _died(self) -> bool:
        """The pid file names a process that is gone (the daemon exited, e.g. its port was taken)."""
        try:
            pid = int(self.pid_file.read_text().strip())
        except (OSError, ValueError):
            return False
        return not Path(f"/proc/{pid}").exists()

    def start(self) -> None:
        """Start (or keep) the broker; raise LabError with mosquitto's own words when it will not run."""
        user = broker_user()
        text = self.config_text(user)
        if self.pid() is not None and self.conf.exists() and self.conf.read_text() == text:
            return  # the running broker already has these certificates, ACLs and user
        self.stop(keep_sessions=True)
        exe = shutil.which("mosquitto") or ("/usr/sbin/mosquitto" if Path("/usr/sbin/mosquitto").exists() else None)
        if exe is None:
            raise LabError("mosquitto is not installed", step="iot broker", failure_class=FailureClass.HOST_SETUP,
                           advice="apt-get install mosquitto (./dev installs it)")
        for address, port in [(a, self.port) for a in self.addresses] + [(LOOPBACK, self.harness_port)]:
            if not _bindable(address, port):
                raise LabError(f"cannot listen on {address}:{port}: the address or port is in use or absent",
                               step="iot broker", failure_class=FailureClass.HOST_SETUP,
                               advice=f"free the port, or delete {self.directory / 'broker.json'} to pick a new one")
        self.directory.mkdir(parents=True, exist_ok=True)
        self._install_run_dir(user)
        write_atomically(self.conf, text.encode(), 0o600)
        self.log_file.unlink(missing_ok=True)
        try:
            done = subprocess.run([exe, "-c", str(self.conf), "-d"], capture_output=True, text=True,
                                  timeout=START_TIMEOUT)
        except subprocess.TimeoutExpired:
            raise LabError(f"mosquitto did not daemonize within {START_TIMEOUT:g} s", step="iot broker",
                           failure_class=FailureClass.TIMEOUT) from None

        def outcome() -> str | None:
            if done.returncode == 0 and self.pid() is not None and _listening(LOOPBACK, self.harness_port) and all(
                    _listening(a, self.port) for a in self.addresses):
                return "listening"
            if done.returncode != 0 or self._died() or "Error:" in self.log_tail():
                return "failed"
            return None

        if poll_until(outcome, START_TIMEOUT, interval=0.05) == "listening":
            return
        last = (done.stderr.strip() or self.log_tail()).splitlines()[-1:] or ["no output"]
        kept = self.directory / "mosquitto.log"  # the run directory goes with the broker
        kept.write_text(self.log_tail(200) + "\n")
        self.stop()
        raise LabError(f"mosquitto did not start listening on port {self.port} at {', '.join(self.addresses)} "
                       f"(harness: {LOOPBACK}:{self.harness_port}): {last}",
                       step="iot broker", failure_class=FailureClass.HOST_SETUP,
                       advice=f"read {kept}; another process may hold the port")

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

    def stop(self, timeout: float = 10.0, *, keep_sessions: bool = False) -> bool:
        """Stop the broker if it runs (SIGTERM: mosquitto saves its sessions on the way out) and remove its run
        directory, the copy of the server key with it; with ``keep_sessions`` (a restart) the session store
        stays for the next ``start`` to load. True when one was stopped."""
        pids = self._processes()
        for pid in pids:
            os.kill(pid, signal.SIGTERM)
        poll_until(lambda: not set(pids) & set(self._processes()), timeout, interval=0.05)
        for pid in set(pids) & set(self._processes()):
            os.kill(pid, signal.SIGKILL)
        if keep_sessions and self.sessions_file.exists():
            for path in self.run_dir.iterdir():
                if path != self.sessions_file:
                    path.unlink()
        else:
            shutil.rmtree(self.run_dir, ignore_errors=True)
        return bool(pids)

    def log_tail(self, lines: int = 5) -> str:
        try:
            return "\n".join(self.log_file.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""
