"""The component lifecycle rows of docs/greengrass-conformance.md on every core of the lab, through the
command line a user types over SSH: `component restart`/`stop` in every state a user can catch a component
in, when Bootstrap runs, and what a HARD dependency's restart or update does to its dependers."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from harness.primitives.deadline import poll_until
from tests.lab.gg_conformance import LOGS, Row, UserCore, component


def _quiet(core: UserCore, args: str) -> None:
    """`component restart|stop` prints nothing and exits 0, whatever the state (ComponentCommand.java:31-45)."""
    out = core.cli(f"component {args}")
    assert (out.exit_status, out.stdout) == (0, ""), f"component {args}: {out.stdout}{out.stderr}"


def _counted(core: UserCore, name: str, text: str, count: int, within: float = 90.0) -> None:
    assert poll_until(lambda: core.log(name).count(text) >= count, within, interval=1.0), \
        f"{name}.log has {text!r} {core.log(name).count(text)} times, not {count}: {core.log(name)[-600:]}"


def _restart_stop_every_state(core: UserCore, name: Callable[[str], str]) -> None:
    """One deployment leaves a component in each state; each gets the requests the nucleus treats differently."""
    run, done, broken = name("com.example.StateRun"), name("com.example.StateDone"), name("com.example.StateBroken")
    slow, waiter = name("com.example.StateSlow"), name("com.example.StateWaiter")
    d = core.recipes(
        component(run, "1.0.0", {"Run": "echo serving; exec sleep 3600",
                                 "Shutdown": "echo shutdown begins; sleep 8; echo shutdown ends"}),
        component(done, "1.0.0", {"Run": "echo done once"}),
        component(broken, "1.0.0", {"Run": "echo failing; exit 1", "Shutdown": "echo broken shutdown"}),
        component(slow, "1.0.0", {"Install": "echo installing; sleep 25; echo installed",
                                  "Run": "echo slow runs; exec sleep 3600"}),
        component(waiter, "1.0.0", {"Run": "echo waiter runs; exec sleep 3600", "Shutdown": "echo waiter shutdown"},
                  ComponentDependencies={slow: {"VersionRequirement": "1.0.0", "DependencyType": "HARD"}}))
    deployment = core.deploy(f"-r {d}/recipes -m {run}=1.0.0 -m {done}=1.0.0 -m {broken}=1.0.0 -m {waiter}=1.0.0")
    try:
        # INSTALLED, waiting for a HARD dependency: stop ends it FINISHED at once, without Shutdown
        core.reach(waiter, "INSTALLED", within=60)
        assert core.details(slow)["state"] == "NEW"  # its Install is still sleeping
        _quiet(core, f"stop --names {waiter}")
        core.reach(waiter, "FINISHED", within=30)
        # NEW, Install running: stop lets Install finish, then FINISHED without running
        _quiet(core, f"stop --names {slow}")
        # BROKEN (Shutdown ran on the way): restart and stop are refused by the lifecycle, nothing runs again
        core.reach(broken, "BROKEN", within=90)
        assert core.log(broken).count("failing") == 3 and "broken shutdown" in core.log(broken)
        _quiet(core, f"restart --names {broken}")
        _quiet(core, f"stop --names {broken}")
        refusals = f"sudo -n grep -c 'service is broken. Deployment is needed.*{broken}' {LOGS}/greengrass.log"
        assert poll_until(lambda: int(core.sh(refusals).stdout.strip() or 0) >= 2, 60, interval=1.0)
        assert core.details(broken)["state"] == "BROKEN" and core.log(broken).count("failing") == 3
        # FINISHED: stop changes nothing, restart runs it again
        core.reach(done, "FINISHED")
        _quiet(core, f"stop --names {done}")
        _quiet(core, f"restart --names {done}")
        _counted(core, done, "done once", 2)
        core.reach(done, "FINISHED")
        # RUNNING → STOPPING (Shutdown sleeping): a restart then waits for Shutdown and runs it again
        core.log_line(run, "serving")
        _quiet(core, f"stop --names {run}")
        core.reach(run, "STOPPING", within=30)
        _quiet(core, f"restart --names {run}")
        _counted(core, run, "serving", 2)
        core.reach(run, "RUNNING")
        assert core.log(run).count("shutdown ends") == 1
        # the stopped NEW component finished its Install and never ran
        core.reach(slow, "FINISHED", within=90)
        assert "installed" in core.log(slow) and "slow runs" not in core.log(slow)
        assert "waiter runs" not in core.log(waiter) and "waiter shutdown" not in core.log(waiter)
        assert core.wait(deployment)["detailed"] == "FAILED_ROLLBACK_NOT_REQUESTED"  # the BROKEN one
    finally:
        core.remove(run, done, broken, waiter)


def _bootstrap_when(core: UserCore, name: Callable[[str], str]) -> None:
    """Bootstrap runs before Install for a new component and a new version, not for a configuration change."""
    app = name("com.example.Boot")
    steps = {"Bootstrap": "echo bootstrap runs", "Install": "echo install runs",
             "Run": "echo serving {configuration:/Tag}; exec sleep 3600"}
    d = core.recipes(*(component(app, v, steps, ComponentConfiguration={"DefaultConfiguration": {"Tag": v}})
                       for v in ("1.0.0", "2.0.0")))
    try:
        assert core.deployed(f"-r {d}/recipes -m {app}=1.0.0")["status"] == "SUCCEEDED"
        core.log_line(app, "serving 1.0.0")
        log = core.log(app)
        assert log.index("bootstrap runs") < log.index("install runs") < log.index("serving 1.0.0")
        merged = core.deployed(f'--update-config \'{{"{app}":{{"MERGE":{{"Tag":"b"}}}}}}\'')
        assert merged["status"] == "SUCCEEDED", merged
        core.log_line(app, "serving b")
        assert core.log(app).count("bootstrap runs") == 1  # configuration only: no Bootstrap
        assert core.deployed(f"-r {d}/recipes -m {app}=2.0.0")["status"] == "SUCCEEDED"
        core.reach(app, "RUNNING", version="2.0.0")
        assert core.log(app).count("bootstrap runs") == 2
    finally:
        core.remove(app)


def _hard_dependers_restart(core: UserCore, name: Callable[[str], str]) -> None:
    """A HARD dependency's restart or new version restarts its dependers; SOFT dependers keep running."""
    dep, hard, soft = name("com.example.Base"), name("com.example.OnBaseHard"), name("com.example.OnBaseSoft")
    needs = ">=1.0.0 <2.0.0"
    d = core.recipes(
        *(component(dep, v, {"Run": "echo base up; exec sleep 3600"}) for v in ("1.0.0", "1.1.0")),
        component(hard, "1.0.0", {"Run": "echo hard up; exec sleep 3600"},
                  ComponentDependencies={dep: {"VersionRequirement": needs, "DependencyType": "HARD"}}),
        component(soft, "1.0.0", {"Run": "echo soft up; exec sleep 3600"},
                  ComponentDependencies={dep: {"VersionRequirement": needs, "DependencyType": "SOFT"}}))
    try:
        assert core.deployed(f"-r {d}/recipes -m {dep}=1.0.0 -m {hard}=1.0.0 -m {soft}=1.0.0")["status"] == "SUCCEEDED"
        core.log_line(hard, "hard up")
        core.log_line(soft, "soft up")
        _quiet(core, f"restart --names {dep}")
        _counted(core, dep, "base up", 2)
        _counted(core, hard, "hard up", 2)
        core.reach(hard, "RUNNING")
        assert core.deployed(f"-r {d}/recipes -m {dep}=1.1.0")["status"] == "SUCCEEDED"
        _counted(core, hard, "hard up", 3)
        core.reach(hard, "RUNNING")
        assert core.details(dep)["version"] == "1.1.0"
        assert core.log(soft).count("soft up") == 1 and core.details(soft)["state"] == "RUNNING"
    finally:
        core.remove(hard, soft, dep)


LIFECYCLE_ROWS: dict[str, Row] = {
    "cli-restart-stop-every-state": _restart_stop_every_state,
    "bootstrap-new-component-or-version": _bootstrap_when,
    "dependency-hard-dependers-restart": _hard_dependers_restart,
}


@pytest.mark.parametrize("row", sorted(LIFECYCLE_ROWS))
def test_conformance_lifecycle_row(row: str, core: UserCore, gg_name: Callable[[str], str]) -> None:
    LIFECYCLE_ROWS[row](core, gg_name)
