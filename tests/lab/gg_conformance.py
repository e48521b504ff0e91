"""What the Greengrass conformance rows share (tests/lab/test_greengrass_conformance*.py): a core as its
user sees it — `sudo -n /greengrass/v2/bin/greengrass-cli ...` over SSH, recipes and artifacts laid out
the way the developer guide lays them out — with every output held to the golden transcripts in
tests/golden/greengrass-cli/."""

from __future__ import annotations

import posixpath
import shlex
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml

from harness.primitives.deadline import poll_until
from harness.primitives.scratch import make_scratch, remove_scratch
from harness.transport.base import CommandResult
from tests.golden import greengrass_cli as golden

CLI = "sudo -n /greengrass/v2/bin/greengrass-cli"
LOGS = "/greengrass/v2/logs"
DEPLOY_WITHIN = 240.0  # arm64 cores run the nucleus and the scripts under qemu-user


class UserCore:
    """A core as its user sees it: shell lines over the device's transport, files in a private directory."""

    def __init__(self, device: Any, work: Path) -> None:
        self.device, self.transport, self.work = device, device.transport, work
        self.remote = make_scratch(self.transport, "gg-conformance")
        self.transport.check(["chmod", "0755", self.remote], timeout=30, step="conformance scratch")

    def close(self) -> None:
        remove_scratch(self.transport, self.remote)

    def sh(self, line: str, timeout: float = 90.0) -> CommandResult:
        return self.transport.run(line, timeout=timeout)

    def cli(self, args: str) -> CommandResult:
        return self.sh(f"{CLI} {args}")

    def upload(self, local: Path, name: str) -> str:
        """``local`` (a directory) to the device, readable by the nucleus; returns its device path."""
        remote = posixpath.join(self.remote, name)
        self.transport.put_dir(local, remote, timeout=120)
        self.transport.check(["chmod", "-R", "u=rwX,go=rX", remote], timeout=30, step="conformance upload")
        return remote

    def recipes(self, *docs: dict[str, Any], files: dict[str, dict[str, bytes]] | None = None) -> str:
        """Recipes (and artifacts ``{name-version: {file: bytes}}``) laid out as a user does; ``-r D/recipes
        -a D/artifacts`` for the returned D."""
        local = Path(tempfile.mkdtemp(dir=self.work))
        (local / "recipes").mkdir()
        (local / "artifacts").mkdir()
        for doc in docs:
            keys = {k.lower(): v for k, v in doc.items()}  # recipe keys are case-insensitive
            (local / "recipes" / f"{keys['componentname']}-{keys['componentversion']}.yaml").write_text(
                yaml.safe_dump(doc, sort_keys=False))
        for ref, content in (files or {}).items():
            name, version = ref.rsplit("-", 1)
            target = local / "artifacts" / name / version
            target.mkdir(parents=True)
            for file, data in content.items():
                (target / file).write_bytes(data)
        return self.upload(local, local.name)

    def deploy(self, args: str) -> str:
        out = self.cli(f"deployment create {args}")
        found = golden.match("deployment-create", out.stdout)
        assert out.exit_status == 0 and found, f"deployment create {args}: {out.stdout}{out.stderr}"
        return found["id"]

    def wait(self, deployment_id: str) -> dict[str, str]:
        """The terminal status, read back through the transcript it must match."""
        def terminal() -> dict[str, str] | None:
            text = self.cli(f"deployment status -i {deployment_id}").stdout
            found = golden.match("deployment-status", text)
            if found:
                return None if found["status"] in ("QUEUED", "IN_PROGRESS") else found
            failed = golden.match("deployment-status-failed", text)
            return dict(failed, status="FAILED") if failed else None

        status = poll_until(terminal, DEPLOY_WITHIN, interval=1.0)
        assert status is not None, f"deployment {deployment_id} still running after {DEPLOY_WITHIN:g} s"
        return status

    def deployed(self, args: str) -> dict[str, str]:
        return self.wait(self.deploy(args))

    def details(self, name: str) -> dict[str, str] | None:
        return golden.match("component-details", self.cli(f"component details --name {name}").stdout)

    def reach(self, name: str, state: str, version: str | None = None, within: float = 120.0) -> dict[str, str]:
        def reached() -> dict[str, str] | None:
            found = self.details(name)
            return found if found and found["state"] == state and version in (None, found["version"]) else None

        found = poll_until(reached, within, interval=1.0)
        assert found, f"{name} not {state} after {within:g} s: {self.details(name)}"
        return found

    def log(self, name: str) -> str:
        return self.sh(f"sudo -n cat {LOGS}/{name}.log 2>/dev/null || true").stdout

    def log_line(self, name: str, text: str, within: float = 120.0) -> None:
        assert poll_until(lambda: text in self.log(name), within, interval=1.0), \
            f"{name}.log has no {text!r}: {self.log(name)[-600:]}"

    def remove(self, *names: str) -> None:
        if names:
            self.deployed(" ".join(f"--remove {shlex.quote(n)}" for n in names))


def component(name: str, version: str, lifecycle: dict[str, Any], **top: Any) -> dict[str, Any]:
    manifest: dict[str, Any] = {"Platform": top.pop("platform", {"os": "linux"}), "Lifecycle": lifecycle}
    if "artifacts" in top:
        manifest["Artifacts"] = top.pop("artifacts")
    return {"RecipeFormatVersion": "2020-01-25", "ComponentName": name, "ComponentVersion": version, **top,
            "Manifests": [manifest]}


SERVE = {"Run": "echo serving {configuration:/Tag}; exec sleep 3600"}

Row = Callable[[UserCore, Callable[[str], str]], None]

