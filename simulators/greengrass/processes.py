"""The process groups the nucleus starts for components' scripts, and how one is killed whole."""

from __future__ import annotations

import os
import signal
import subprocess
import threading

from simulators.greengrass.deadline import poll_until


class ProcessTable:
    """Process groups the nucleus started, by component, so a stop or an error can kill them whole."""

    def __init__(self) -> None:
        self._groups: dict[int, tuple[str, subprocess.Popen]] = {}
        self._lock = threading.Lock()

    def add(self, proc: subprocess.Popen, owner: str) -> None:
        with self._lock:
            self._groups[proc.pid] = (owner, proc)

    def discard(self, pgid: int) -> None:
        with self._lock:
            self._groups.pop(pgid, None)

    def of(self, owner: str) -> list[subprocess.Popen]:
        with self._lock:
            return [p for o, p in self._groups.values() if o == owner]


def kill_group(proc: subprocess.Popen, grace: float) -> None:
    """SIGTERM the script's whole process group, then SIGKILL what is left after `grace` seconds."""
    pgid = proc.pid
    try:
        os.killpg(pgid, signal.SIGTERM)
    except ProcessLookupError:
        return

    def gone() -> bool:
        proc.poll()  # reap the leader so a zombie does not keep the group alive
        try:
            os.killpg(pgid, 0)
        except ProcessLookupError:
            return True
        return False

    if poll_until(gone, grace):
        return
    try:
        os.killpg(pgid, signal.SIGKILL)
    except ProcessLookupError:
        pass
