"""One measurement at a time per physical host: devices that share CPUs must not time each other.

Emulated cores run on this machine's CPUs, so all of them share one lock; a real board is its own
host, keyed by its address. The lock is an ``fcntl.flock`` on a file under the lab state directory,
so separate processes (pytest-xdist workers, two ``hil bench`` runs) serialize too, and a crashed
holder releases it with its file descriptor.
"""

from __future__ import annotations

import fcntl
import os
import re
import socket
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from harness.errors import CommandTimeout
from harness.lab.paths import state_dir
from harness.primitives.deadline import poll_until
from harness.transport.hostspec import HostSpecError, parse_hostspec

#: Emulated cores, local:// and docker:// devices all run on the controller's CPUs.
THIS_HOST = "controller"


def host_key(connection: str | None, emulated: bool) -> str:
    """Which physical CPUs a device's figures come from: ``controller`` or the board's address."""
    if emulated or not connection:
        return THIS_HOST
    try:
        spec = parse_hostspec(connection)
    except HostSpecError:
        return connection
    return THIS_HOST if spec.scheme in ("local", "docker") else spec.host


def lock_path(key: str) -> Path:
    safe = re.sub(r"[^A-Za-z0-9_.-]", "_", key)[:100]
    directory = state_dir() / "locks"
    directory.mkdir(parents=True, exist_ok=True)
    return directory / f"measure-{safe}.lock"


@dataclass
class Hold:
    """When the lock was asked for, got, and given back (time.time(), seconds)."""

    key: str
    asked: float
    acquired: float = 0.0
    released: float = 0.0

    @property
    def waited_s(self) -> float:
        return self.acquired - self.asked


def _try_lock(fd: int) -> bool:
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    return True


@contextmanager
def measurement_lock(key: str, *, timeout: float, device: str | None = None,
                     poll: float = 0.05) -> Iterator[Hold]:
    """Hold the measurement lock of host ``key``; raise CommandTimeout after ``timeout`` s of waiting."""
    hold = Hold(key, asked=time.time())
    fd = os.open(lock_path(key), os.O_RDWR | os.O_CREAT, 0o644)
    try:
        if not poll_until(lambda: _try_lock(fd), timeout, interval=poll):
            raise CommandTimeout(
                f"the measurement lock of host {key!r} was busy for {timeout:g} s", device=device,
                step="measure lock", advice="another benchmark on the same physical host is still "
                f"running (lock file {lock_path(key)}); wait for it or raise the timeout")
        hold.acquired = time.time()
        os.ftruncate(fd, 0)
        os.write(fd, f"{socket.gethostname()} pid {os.getpid()} device {device}\n".encode())
        try:
            yield hold
        finally:
            hold.released = time.time()
            fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)
