"""The lab's Docker engine: a private dockerd under the state directory, or one the user already runs.

The private engine has its own data-root, exec-root, pidfile and socket, no default bridge and
no iptables rules, so it never touches a system dockerd or its networks. It is stopped by its pid.
"""

from __future__ import annotations

import os
import signal
import subprocess
from dataclasses import dataclass
from pathlib import Path

import docker
from docker.errors import DockerException

from harness.errors import FailureClass, LabError
from harness.lab.paths import state_dir
from harness.primitives.deadline import poll_until
from harness.primitives.progress import Say

START_TIMEOUT = 60.0
STOP_TIMEOUT = 30.0


@dataclass(frozen=True)
class PrivateEngine:
    root: Path

    @property
    def socket(self) -> Path:
        return self.root / "docker.sock"

    @property
    def base_url(self) -> str:
        return f"unix://{self.socket}"

    @property
    def pidfile(self) -> Path:
        return self.root / "docker.pid"

    @property
    def logfile(self) -> Path:
        return self.root / "dockerd.log"

    def pid(self) -> int | None:
        """The running dockerd's pid, or None (a stale pidfile counts as not running)."""
        try:
            pid = int(self.pidfile.read_text().strip())
            # After a reboot or a kill the pid may belong to another process by now.
            if Path(f"/proc/{pid}/comm").read_text().strip() != "dockerd":
                return None
        except (OSError, ValueError):
            return None
        return pid

    def argv(self) -> list[str]:
        return [
            "dockerd",
            f"--data-root={self.root / 'data'}",
            f"--exec-root={self.root / 'exec'}",
            f"--pidfile={self.pidfile}",
            f"--host={self.base_url}",
            "--bridge=none",
            "--iptables=false",
        ]

    def start(self, say: Say) -> None:
        if self.pid() is not None:
            return
        if os.geteuid() != 0:
            raise LabError("the private Docker engine needs root", step="engine start",
                           advice="run `hil lab up` as root, or point the lab at your engine "
                                  "(DOCKER_HOST or `engine: {host: ...}` in the lab file)")
        self.root.mkdir(parents=True, exist_ok=True)
        self.pidfile.unlink(missing_ok=True)
        say(f"starting private dockerd ({self.socket})")
        with open(self.logfile, "ab") as log:
            subprocess.Popen(self.argv(), stdout=log, stderr=log, stdin=subprocess.DEVNULL,
                             start_new_session=True)
        if poll_until(lambda: self.socket.exists() and answers(self.base_url), START_TIMEOUT):
            return
        raise LabError(f"dockerd did not answer on {self.socket} within {START_TIMEOUT:g} s",
                       step="engine start", advice=f"read {self.logfile}")

    def stop(self, say: Say) -> None:
        pid = self.pid()
        if pid is None:
            return
        say(f"stopping private dockerd (pid {pid})")
        os.kill(pid, signal.SIGTERM)
        if not poll_until(lambda: not _alive(pid), STOP_TIMEOUT):
            os.kill(pid, signal.SIGKILL)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except OSError:
        return False
    return True


def answers(base_url: str) -> bool:
    """True when a Docker engine answers a ping at ``base_url``."""
    try:  # the client itself connects (API version), so it belongs inside: a stale socket refuses
        client = docker.DockerClient(base_url=base_url, timeout=5)
    except DockerException:
        return False
    try:
        return bool(client.ping())
    except DockerException:
        return False
    finally:
        client.close()


def private_engine() -> PrivateEngine:
    return PrivateEngine(state_dir() / "engine")


def engine_url(configured: str | None) -> str | None:
    """The user's own engine (lab file first, then DOCKER_HOST), or None for the private one."""
    return configured or os.environ.get("DOCKER_HOST") or None


def connect(base_url: str, timeout: float = 120.0) -> docker.DockerClient:
    try:
        client = docker.DockerClient(base_url=base_url, timeout=timeout)
        client.ping()
    except DockerException as exc:
        raise LabError(f"cannot reach the Docker engine at {base_url}: {exc}", step="engine connect",
                       failure_class=FailureClass.ENGINE,
                       advice="run `hil lab up` to start the private engine, or check DOCKER_HOST") from exc
    return client
