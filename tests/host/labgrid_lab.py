"""A real labgrid coordinator and exporter on 127.0.0.1 (the PyPI `labgrid` package's own programs).

labgrid-coordinator serves gRPC on -l HOST:PORT and keeps places in its working directory;
labgrid-exporter exports the resources of a YAML file (group -> class -> params, labgrid/remote/exporter.py);
labgrid-client creates places and matches resources to them (labgrid/remote/client.py).
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import yaml

from harness.primitives.deadline import poll_until

BIN = Path(sys.executable).parent


def interruptible() -> None:
    """A ``preexec_fn`` giving the child SIGINT's default action: a job started in the background by a
    non-interactive shell inherits SIGINT ignored, and a Python that starts so never raises KeyboardInterrupt."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class Coordinator:
    address: str
    root: Path

    def client(self, *args: str, user: str = "hil-test", check: bool = True) -> subprocess.CompletedProcess:
        env = {**os.environ, "LG_USERNAME": user}
        return subprocess.run([str(BIN / "labgrid-client"), "-x", self.address, *args], env=env, text=True,
                              capture_output=True, timeout=60, check=check)

    def add_place(self, place: str, exporter: str, group: str) -> None:
        self.client("-p", place, "create")
        self.client("-p", place, "add-match", f"{exporter}/{group}/NetworkService")


def _listening(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return True
    except OSError:
        return False


@contextmanager
def labgrid_lab(root: Path, services: dict[str, dict]) -> Iterator[Coordinator]:
    """A coordinator and one exporter ``exp1`` exporting ``services`` (group -> NetworkService params)."""
    port = free_port()
    address = f"127.0.0.1:{port}"
    (root / "coordinator").mkdir(parents=True)
    procs = [subprocess.Popen([str(BIN / "labgrid-coordinator"), "-l", address], cwd=root / "coordinator",
                              stdout=open(root / "coordinator.log", "w"), stderr=subprocess.STDOUT)]
    try:
        assert poll_until(lambda: _listening(port) or None, 30), (root / "coordinator.log").read_text()
        config = root / "exporter.yaml"
        config.write_text(yaml.safe_dump({group: {"NetworkService": dict(params)}  # no YAML aliases: labgrid edits each
                                          for group, params in services.items()}))
        procs.append(subprocess.Popen([str(BIN / "labgrid-exporter"), "-c", address, "-n", "exp1", str(config)],
                                      cwd=root, stdout=open(root / "exporter.log", "w"), stderr=subprocess.STDOUT))
        coordinator = Coordinator(address, root)
        exported = lambda: all(f"exp1/{g}/NetworkService" in coordinator.client("resources").stdout  # noqa: E731
                               for g in services) or None
        assert poll_until(exported, 60, interval=0.5), (root / "exporter.log").read_text()
        yield coordinator
    finally:
        for proc in reversed(procs):
            proc.terminate()
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
