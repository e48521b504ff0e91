"""The command-line options of the plugin and the lab they select.

Lab options choose the lab file and its devices; ``--budget`` and ``--bench-json`` steer the
measurements; ``--hil-results`` asks for results.json. Option errors are usage errors at start-up.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from harness.bench.budgets import BudgetSyntaxError, parse_override
from harness.lab.inventory import DeviceSpec, Lab, load_lab

_LAB_KEY = pytest.StashKey[Lab]()


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("hil", "edge-ML hardware-in-the-loop lab")
    group.addoption("--lab", type=Path, default=None, metavar="FILE",
                    help="lab file (default: the embedded lab, devices/lab.yaml)")
    group.addoption("--device", action="append", default=[], metavar="NAME",
                    help="run device tests only on this device (repeatable)")
    group.addoption("--arch", action="append", default=[], metavar="ARCH",
                    help="run device tests only on devices of this architecture, e.g. aarch64 (repeatable)")
    group.addoption("--no-lab-up", action="store_true",
                    help="use the lab as it is: do not build images or start emulated cores")
    group.addoption("--budget", action="append", default=[], metavar="[MODEL:]KEY=VALUE",
                    help="override a budget for device tests: p90_ms, peak_rss_mb or load_s (repeatable)")
    group.addoption("--bench-json", type=Path, default=None, metavar="FILE",
                    help="write recorded measurements in pytest-benchmark's JSON format (per xdist worker)")
    group.addoption("--hil-results", type=Path, default=None, metavar="FILE",
                    help="write the run's results.json (one record per device × scenario) here")
    from harness.pytest_plugin.quarantine import add_options  # it reads the selected devices from here

    add_options(group)


def check_budgets(config: pytest.Config) -> None:
    """A malformed ``--budget`` stops the run before any test, naming the option."""
    try:
        for text in config.getoption("--budget"):
            parse_override(text)
    except BudgetSyntaxError as exc:
        raise pytest.UsageError(f"--budget: {exc.detail}") from None


def lab_of(config: pytest.Config) -> Lab:
    """The lab file of this run, loaded and validated once."""
    if _LAB_KEY not in config.stash:
        config.stash[_LAB_KEY] = load_lab(config.getoption("--lab"))
    return config.stash[_LAB_KEY]


def selected_devices(config: pytest.Config) -> list[DeviceSpec]:
    """The lab's devices that ``--device`` and ``--arch`` leave (all of them when neither is given)."""
    lab = lab_of(config)
    names, arches = config.getoption("--device"), config.getoption("--arch")
    for name in names:
        lab.device(name)  # an unknown name is an error naming the known ones
    return [d for d in lab.spec.devices
            if (not names or d.name in names) and (not arches or lab.profile_of(d).arch in arches)]
