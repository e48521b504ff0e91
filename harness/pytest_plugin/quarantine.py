"""Lab health checks before the first device test, and the quarantine of the devices that fail them.

In LAVA's model a device that fails its health check is taken out of the run: its tests are reported
as skipped with the device's reasons (``quarantined by the lab health check: …``) and the other devices
go on. The checks run once per session: in the ``lab`` fixture without xdist, in the xdist controller
before its workers start when the lab is up (the workers get ``{device: reason}`` through
``workerinput``), else in each worker's ``lab`` fixture. The session's
lab health is the ``lab_health`` section of results.json and the report.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pytest

from harness.health.cli import add_limit_options, limits_of
from harness.pytest_plugin.options import lab_of, selected_devices

if TYPE_CHECKING:
    from harness.lab.bringup import LabController

#: ``LabHealth.as_dict()`` of the session (on the controller) and ``{device: reason}`` (everywhere).
HEALTH = pytest.StashKey[dict[str, Any]]()
QUARANTINED = pytest.StashKey[dict[str, str]]()
WORKER_KEY = "hil_quarantined"
#: ``pytest`` exits 0..5; ``hil run`` exits this when every test that ran passed but a device was quarantined.
EXIT_QUARANTINED = 6
QUARANTINE_MARK = "quarantined by the lab health check"


def add_options(group: Any) -> None:
    group.addoption("--no-health-check", action="store_true",
                    help="do not health-check the lab's devices before their tests (nothing is quarantined)")
    group.addoption("--fail-on-quarantine", action="store_true",
                    help="exit 1 when any device is quarantined by the health check")
    add_limit_options(group, budget_flag="--health-budget")


def check_selected(config: pytest.Config, controller: LabController) -> None:
    """Health-check the run's devices once and keep the verdicts on ``config``."""
    if QUARANTINED in config.stash:
        return
    if config.getoption("--no-health-check"):
        config.stash[QUARANTINED] = {}
        return
    from harness.health.render import table
    from harness.health.run import check_lab

    health = check_lab(controller, [d.name for d in selected_devices(config)],
                       limits_of(config.option, budget="health_budget"))
    config.stash[HEALTH] = health.as_dict()
    config.stash[QUARANTINED] = {name: q.reason for name, q in health.quarantined.items()}
    reporter = config.pluginmanager.get_plugin("terminalreporter")
    if reporter is not None and health.devices:
        reporter.write_line("lab health:")
        for line in table(health).splitlines():
            reporter.write_line(f"  {line}")


def quarantine_reason(config: pytest.Config, name: str) -> str | None:
    """Why ``name`` is out of this run, or None; on an xdist worker, as the controller decided."""
    workerinput = getattr(config, "workerinput", None)
    if QUARANTINED not in config.stash and workerinput is not None and WORKER_KEY in workerinput:
        config.stash[QUARANTINED] = dict(workerinput[WORKER_KEY])
    return config.stash.get(QUARANTINED, {}).get(name)


def handed_to_workers(config: pytest.Config) -> bool:
    return QUARANTINED in config.stash or WORKER_KEY in (getattr(config, "workerinput", None) or {})


@pytest.hookimpl(tryfirst=True)
def pytest_sessionstart(session: pytest.Session) -> None:
    """Under xdist with a lab that is up (``--no-lab-up``, as ``hil run`` passes once it brought the lab
    up), check it here in the controller before xdist starts the workers (its own ``pytest_sessionstart``).

    Without ``--no-lab-up`` the workers' ``lab`` fixture brings the lab up and each worker checks the
    devices itself: the controller never builds or starts a lab for a run that may not use it.
    """
    config = session.config
    if hasattr(config, "workerinput") or not config.pluginmanager.has_plugin("dsession"):
        return
    if not config.getoption("--no-lab-up"):
        return
    from harness.lab.bringup import LabController
    from harness.primitives.progress import say

    check_selected(config, LabController(lab_of(config), say))


@pytest.hookimpl(optionalhook=True)
def pytest_configure_node(node: Any) -> None:
    """xdist: every worker gets the controller's quarantine, when the controller checked the lab."""
    if QUARANTINED in node.config.stash:
        node.workerinput[WORKER_KEY] = dict(node.config.stash[QUARANTINED])


def finish(session: pytest.Session) -> None:
    """``--fail-on-quarantine``: a quarantined device makes the session fail (exit 1)."""
    config = session.config
    if hasattr(config, "workerinput") or not config.getoption("--fail-on-quarantine"):
        return
    if config.stash.get(QUARANTINED, {}) and session.exitstatus == pytest.ExitCode.OK:
        session.exitstatus = pytest.ExitCode.TESTS_FAILED
