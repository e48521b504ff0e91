"""Conformance of the emulated cores to the real nucleus and greengrass-cli: one test per row of
docs/greengrass-conformance.md, on every core of the lab (x86_64 and aarch64), through the command line a
user types over SSH (``sudo -n /greengrass/v2/bin/greengrass-cli ...``), output held to the golden
transcripts in tests/golden/greengrass-cli/. The AWS sample components are in
test_greengrass_conformance_samples.py; the lifecycle rows in test_greengrass_conformance_lifecycle.py."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from harness.primitives.deadline import poll_until
from tests.golden import greengrass_cli as golden
from tests.lab.gg_conformance import SERVE, Row, UserCore, component


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


ROWS: dict[str, Row] = {
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


@pytest.mark.parametrize("row", sorted(ROWS))
def test_conformance_row(row: str, core: UserCore, gg_name: Callable[[str], str]) -> None:
    ROWS[row](core, gg_name)
