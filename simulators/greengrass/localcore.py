"""An emulated core on this machine: a temporary Greengrass root, its supervised nucleus and its CLI.

For host-level tests (of the emulator, and of harness code through LocalTransport): every call goes
through the real `bin/greengrass-cli` and the real daemon processes, with short timings.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from simulators.greengrass import layout
from simulators.greengrass.deadline import poll_until
from simulators.greengrass.ipc import IpcFailure, call
from simulators.greengrass.kernel import kill_orphans

FAST = {"retryDelaySeconds": 0.05, "stopGraceSeconds": 0.5, "settleSeconds": 0.3, "deploymentTimeoutSeconds": 20}
_SUBMITTED = re.compile(r"Deployment Id: ([0-9a-f-]{36})")


class LocalCore:
    def __init__(self, root: Path, *, emulator: dict[str, Any] | None = None,
                 platform_override: dict[str, str] | None = None, thing_name: str = "hil-core",
                 run_as: str | None = None) -> None:
        self.root = layout.create(root, python=sys.executable, pythonpath=str(Path(__file__).resolve().parents[2]),
                                  thing_name=thing_name, run_as=run_as, emulator={**FAST, **(emulator or {})},
                                  platform_override=platform_override)
        self.supervisor: subprocess.Popen | None = None

    def start(self, env: dict[str, str] | None = None, timeout: float = 10.0) -> float:
        """Start the supervised nucleus; returns seconds until it answered on its socket."""
        t0 = time.monotonic()
        self.supervisor = subprocess.Popen([str(self.root / "bin" / "greengrass-nucleus")],
                                           env={**os.environ, **(env or {})}, stdin=subprocess.DEVNULL,
                                           start_new_session=True)
        self.wait_ready(timeout)
        return time.monotonic() - t0

    def wait_ready(self, timeout: float = 10.0, not_pid: int | None = None) -> int:
        def pid() -> int | None:
            try:
                found = call(self.root, "ping", timeout=2)["pid"]
            except IpcFailure:
                return None
            return found if found != not_pid else None

        found = poll_until(pid, timeout)
        if found is None:
            raise TimeoutError(f"nucleus at {self.root} not ready after {timeout}s")
        return found

    def nucleus_pid(self) -> int:
        """The running nucleus's pid, as it answers a ping over its socket."""
        return int(call(self.root, "ping", timeout=2)["pid"])

    def stop(self, timeout: float = 20.0) -> None:
        if self.supervisor is None:
            return
        if self.supervisor.poll() is None:
            self.supervisor.send_signal(signal.SIGTERM)
            try:
                self.supervisor.wait(timeout)
            except subprocess.TimeoutExpired:
                os.killpg(self.supervisor.pid, signal.SIGKILL)
                self.supervisor.wait()
                kill_orphans(self.root)  # components run in their own sessions
        self.supervisor = None

    def cli(self, *args: str, timeout: float = 15.0, check: bool = True) -> subprocess.CompletedProcess:
        proc = subprocess.run([str(self.root / "bin" / "greengrass-cli"), *args], capture_output=True, text=True,
                              timeout=timeout)
        if check and proc.returncode != 0:
            raise AssertionError(f"greengrass-cli {' '.join(args)} exited {proc.returncode}: {proc.stderr}")
        return proc

    def deploy(self, *args: str) -> str:
        out = self.cli("deployment", "create", *args).stdout
        m = _SUBMITTED.search(out)
        if not m:
            raise AssertionError(f"no deployment id in {out!r}")
        return m.group(1)

    def status(self, deployment_id: str) -> dict[str, str]:
        lines = self.cli("deployment", "status", "-i", deployment_id).stdout.splitlines()
        first, rest = lines[0], lines[1:]
        out = {"status": first.split(": ")[1]}
        out.update(line.split(": ", 1) for line in rest if ": " in line)
        return out

    def wait_deployment(self, deployment_id: str, timeout: float = 30.0) -> dict[str, str]:
        def terminal() -> dict[str, str] | None:
            try:
                st = self.status(deployment_id)
            except (AssertionError, IndexError):
                return None  # the nucleus may be restarting
            return st if st["status"] in ("SUCCEEDED", "FAILED", "CANCELED") else None

        found = poll_until(terminal, timeout, interval=0.05)
        if found is None:
            raise TimeoutError(f"deployment {deployment_id} not finished after {timeout}s")
        return found

    def components(self) -> dict[str, dict[str, str]]:
        out: dict[str, dict[str, str]] = {}
        current: dict[str, str] = {}
        for line in self.cli("component", "list").stdout.splitlines():
            if line.startswith("Component Name: "):
                current = out.setdefault(line.split(": ", 1)[1], {})
            elif ": " in line and current is not None:
                key, value = line.strip().split(": ", 1)
                current[key] = value
        return out

    def wait_state(self, name: str, state: str, timeout: float = 15.0) -> None:
        if not poll_until(lambda: self.components().get(name, {}).get("State") == state, timeout, interval=0.05):
            raise TimeoutError(f"{name} not {state} after {timeout}s: {self.components().get(name)}")


def recipe(name: str, version: str, lifecycle: dict[str, Any] | None = None, *,
           dependencies: dict[str, dict[str, str]] | None = None, config: dict[str, Any] | None = None,
           platform: dict[str, str] | None = None, artifacts: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    """A recipe document with one manifest (defaults: any Linux)."""
    doc: dict[str, Any] = {"RecipeFormatVersion": "2020-01-25", "ComponentName": name, "ComponentVersion": version,
                           "Manifests": [{"Platform": platform or {"os": "linux"},
                                          "Lifecycle": lifecycle or {}, "Artifacts": artifacts or []}]}
    if dependencies:
        doc["ComponentDependencies"] = dependencies
    if config is not None:
        doc["ComponentConfiguration"] = {"DefaultConfiguration": config}
    return doc


def write_recipe(recipe_dir: Path, doc: dict[str, Any]) -> Path:
    import yaml

    recipe_dir.mkdir(parents=True, exist_ok=True)
    path = recipe_dir / f"{doc['ComponentName']}-{doc['ComponentVersion']}.yaml"
    path.write_text(yaml.safe_dump(doc, sort_keys=False))
    return path
