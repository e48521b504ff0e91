"""Conformance of the emulated cores to the real nucleus and greengrass-cli: one test per row of
docs/greengrass-conformance.md, on every core of the lab (x86_64 and aarch64), through the command line a
user types over SSH (``sudo -n /greengrass/v2/bin/greengrass-cli ...``), output held to the golden
transcripts in tests/golden/greengrass-cli/. The AWS sample components are in
test_greengrass_conformance_samples.py."""

from __future__ import annotations

import posixpath
import shlex
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
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


def _cli_create_status_list_cancel(core: UserCore, name: Callable[[str], str]) -> None:
    app = name("com.example.Cli")
    d = core.recipes(component(app, "1.0.0", SERVE, ComponentConfiguration={"DefaultConfiguration": {"Tag": "a"}}))
    first = core.deploy(f"--recipeDir {d}/recipes --merge {app}=1.0.0")
    status = core.wait(first)
    assert (status["id"], status["status"]) == (first, "SUCCEEDED")
    second = core.deployed(f"--update-config '{{\"{app}\":{{\"MERGE\":{{\"Tag\":\"b\"}}}}}}'")["id"]
    blocks = core.cli("deployment list").stdout.split("\n\n")  # only the last block ends in a newline
    pairs = [a + "\n\n" + b + ("" if b.endswith("\n") else "\n") for a, b in zip(blocks, blocks[1:], strict=False)]
    listed = [golden.match("deployment-list", pair) for pair in pairs]
    assert all(listed) and any((m["id"], m["id_2"]) == (first, second) for m in listed if m), blocks[-3:]
    assert golden.match("deployment-cancel-finished", core.cli(f"deployment cancel -i {first}").stdout) == {}
    core.remove(app)


def _cli_status_failed_and_default_policy(core: UserCore, name: Callable[[str], str]) -> None:
    app = name("com.example.Broken")
    d = core.recipes(component(app, "1.0.0", SERVE, ComponentConfiguration={"DefaultConfiguration": {"Tag": "a"}}),
                     component(app, "2.0.0", {"Run": "echo cannot start >&2; exit 1"}))
    assert core.deployed(f"-r {d}/recipes -m {app}=1.0.0")["status"] == "SUCCEEDED"
    failed = core.deployed(f"-r {d}/recipes -m {app}=2.0.0")  # no -fp: DO_NOTHING
    assert (failed["detailed"], failed["types"]) == ("FAILED_ROLLBACK_NOT_REQUESTED", "USER_COMPONENT_ERROR")
    assert failed["stack"] == "DEPLOYMENT_FAILURE, COMPONENT_UPDATE_ERROR, COMPONENT_BROKEN"
    assert failed["cause"] == f"Service {app} in broken state after deployment"
    core.reach(app, "BROKEN", version="2.0.0")
    core.remove(app)


def _policy_rollback(core: UserCore, name: Callable[[str], str]) -> None:
    app = name("com.example.Rollback")
    d = core.recipes(component(app, "1.0.0", SERVE, ComponentConfiguration={"DefaultConfiguration": {"Tag": "a"}}),
                     component(app, "2.0.0", {"Install": "exit 7", **SERVE}))
    assert core.deployed(f"-r {d}/recipes -m {app}=1.0.0")["status"] == "SUCCEEDED"
    failed = core.deployed(f"-r {d}/recipes -m {app}=2.0.0 --failure-handling-policy ROLLBACK")
    assert failed["detailed"] == "FAILED_ROLLBACK_COMPLETE"
    core.reach(app, "RUNNING", version="1.0.0")
    core.remove(app)


def _cli_component_commands(core: UserCore, name: Callable[[str], str]) -> None:
    app = name("com.example.Ctl")
    d = core.recipes(component(app, "1.0.0", SERVE, ComponentConfiguration={"DefaultConfiguration": {"Tag": "x"}}))
    core.deployed(f"-r {d}/recipes -m {app}=1.0.0")
    assert core.reach(app, "RUNNING")["configuration"] == '{"Tag":"x"}'
    lines = core.cli("component list").stdout.splitlines(keepends=True)
    assert golden.match("component-list", "".join(lines[:9])) is not None
    assert all(golden.match("component-details", "".join(lines[i:i + 4])) for i in range(1, len(lines), 4))
    core.log_line(app, "serving x")
    before = core.log(app).count("serving x")
    restart = core.cli(f"component restart --names {app}")
    assert (restart.exit_status, restart.stdout) == (0, "")
    assert poll_until(lambda: core.log(app).count("serving x") > before, 60, interval=1.0)
    stop = core.cli(f"component stop --names {app}")
    assert (stop.exit_status, stop.stdout) == (0, "")
    core.reach(app, "FINISHED")
    core.remove(app)


def _cli_usage_and_nucleus_errors(core: UserCore, name: Callable[[str], str]) -> None:
    usage = core.cli("deployment status")
    assert (usage.exit_status, usage.stdout) == (0, "")
    assert golden.match("usage-missing-option", usage.stderr.splitlines(keepends=True)[0]) == {}
    assert golden.match("usage-missing-subcommand", core.cli("deployment").stdout.splitlines(keepends=True)[0]) == {}
    unknown = core.cli("deployment status -i 00000000-0000-4000-8000-000000000000")
    assert unknown.exit_status == 1 and unknown.stderr.startswith("java.lang.RuntimeException: ")
    assert unknown.stderr.rstrip().endswith("ResourceNotFoundError: Cannot find deployment")


def _failure_kinds(core: UserCore, name: Callable[[str], str]) -> None:
    other = "aarch64" if core.device.arch == "x86_64" else "amd64"
    platform, missing = name("com.example.OtherArch"), name("com.example.NeedsLib")
    d = core.recipes(component(platform, "1.0.0", SERVE, platform={"os": "linux", "architecture": other}),
                     component(missing, "1.0.0", SERVE, ComponentDependencies={
                         name("com.example.Absent"): {"VersionRequirement": ">=1.0.0"}}))
    no_platform = core.deployed(f"-r {d}/recipes -m {platform}=1.0.0")
    assert no_platform["detailed"] == "FAILED_NO_STATE_CHANGE"
    assert no_platform["stack"] == "DEPLOYMENT_FAILURE, COMPONENT_PACKAGE_LOADING_ERROR, LOCAL_RECIPE_NOT_FOUND"
    assert no_platform["cause"].startswith("Failed to find usable recipe for current platform: ")
    no_version = core.deployed(f"-r {d}/recipes -m {missing}=1.0.0")
    assert no_version["detailed"] == "FAILED_NO_STATE_CHANGE"
    assert no_version["cause"].startswith("No local or cloud component version satisfies the requirements")
    install = name("com.example.InstallFails")
    d2 = core.recipes(component(install, "1.0.0", {"Install": "echo no >&2; exit 2", **SERVE}))
    failed = core.deployed(f"-r {d2}/recipes -m {install}=1.0.0")
    assert failed["cause"] == f"Service {install} in broken state after deployment"
    assert core.details(platform) is None and core.details(missing) is None
    core.remove(install)


def _lifecycle_run_startup(core: UserCore, name: Callable[[str], str]) -> None:
    once, daemon = name("com.example.Once"), name("com.example.Daemon")
    d = core.recipes(component(once, "1.0.0", {"Run": "echo done"}),
                     component(daemon, "1.0.0", {"Startup": "sleep 3600 >/dev/null 2>&1 &",
                                                  "Shutdown": "echo shutting down"}))
    assert core.deployed(f"-r {d}/recipes -m {once}=1.0.0 -m {daemon}=1.0.0")["status"] == "SUCCEEDED"
    core.reach(once, "FINISHED")  # Run exited 0
    core.reach(daemon, "RUNNING")  # Startup exited 0
    core.remove(once, daemon)
    assert "shutting down" in core.log(daemon)


def _deployment_leaves_unchanged_alone(core: UserCore, name: Callable[[str], str]) -> None:
    keep, add = name("com.example.Keep"), name("com.example.Add")
    d = core.recipes(component(keep, "1.0.0", SERVE, ComponentConfiguration={"DefaultConfiguration": {"Tag": "k"}}),
                     component(add, "1.0.0", SERVE, ComponentConfiguration={"DefaultConfiguration": {"Tag": "n"}}))
    core.deployed(f"-r {d}/recipes -m {keep}=1.0.0")
    core.log_line(keep, "serving k")
    starts = core.log(keep).count("serving k")
    core.deployed(f"-r {d}/recipes -m {add}=1.0.0")
    core.log_line(add, "serving n")
    assert core.log(keep).count("serving k") == starts  # not restarted
    core.remove(keep, add)


def _remove_takes_one_name_per_option(core: UserCore, name: Callable[[str], str]) -> None:
    a, b = name("com.example.RemoveA"), name("com.example.RemoveB")
    d = core.recipes(component(a, "1.0.0", SERVE), component(b, "1.0.0", SERVE))
    core.deployed(f"-r {d}/recipes --merge {a}=1.0.0 -m {b}=1.0.0")
    assert core.deployed(f"--remove {a},{b}")["status"] == "SUCCEEDED"  # one name "a,b": nothing removed
    assert core.details(a) and core.details(b)
    core.remove(a, b)
    assert core.details(a) is None and core.details(b) is None


def _errors_counted_per_state(core: UserCore, name: Callable[[str], str]) -> None:
    """Two Install errors then one Run error: three errors, but never three in one state, so not BROKEN."""
    app = name("com.example.Flaky")
    fails = 'n=$(cat {work:path}/%s 2>/dev/null || echo 0); echo $((n + 1)) > {work:path}/%s; [ "$n" -ge %d ]'
    d = core.recipes(component(app, "1.0.0", {"Install": fails % ("i", "i", 2),
                                               "Run": fails % ("r", "r", 1) + " || exit 1; echo serving; "
                                                                              "exec sleep 3600"}))
    assert core.deployed(f"-r {d}/recipes -m {app}=1.0.0")["status"] == "SUCCEEDED"
    core.reach(app, "RUNNING")
    core.log_line(app, "serving")
    core.remove(app)


ROWS: dict[str, Callable[[UserCore, Callable[[str], str]], None]] = {
    "lifecycle-errors-counted-per-state": _errors_counted_per_state,
    "cli-deployment-create-status-list-cancel": _cli_create_status_list_cancel,
    "policy-default-do-nothing-and-failed-status": _cli_status_failed_and_default_policy,
    "policy-rollback": _policy_rollback,
    "cli-component-list-details-restart-stop": _cli_component_commands,
    "cli-usage-and-nucleus-errors": _cli_usage_and_nucleus_errors,
    "failure-platform-version-install": _failure_kinds,
    "lifecycle-run-exit-0-startup-shutdown": _lifecycle_run_startup,
    "deployment-unchanged-component-untouched": _deployment_leaves_unchanged_alone,
    "cli-merge-remove-forms": _remove_takes_one_name_per_option,
}


@pytest.fixture
def core(device: Any, tmp_path: Path):
    user = UserCore(device, tmp_path)
    yield user
    user.close()


@pytest.mark.parametrize("row", sorted(ROWS))
def test_conformance_row(row: str, core: UserCore, gg_name: Callable[[str], str]) -> None:
    ROWS[row](core, gg_name)
