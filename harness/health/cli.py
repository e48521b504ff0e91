"""``hil lab check [DEVICE...] [--json]``: the lab's health checks alone; exit 1 when any device is quarantined."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from harness.health.checks import MIB, HealthLimits
from harness.health.render import table, to_json
from harness.health.run import check_lab


def limits_of(args: Any, budget: str = "budget") -> HealthLimits:
    """The thresholds from parsed options (argparse's namespace or pytest's ``config.option``);
    ``budget`` is the attribute of the device budget (``health_budget`` under pytest)."""
    return HealthLimits(max_clock_skew_s=args.max_clock_skew, min_free_greengrass=args.min_free_mib * MIB,
                        min_free_tmp=args.min_free_mib * MIB, device_budget_s=getattr(args, budget))


def add_limit_options(parser: Any, budget_flag: str = "--budget") -> None:
    """The thresholds, for ``hil lab check``, ``hil run`` and the pytest plugin alike.

    ``parser`` is an argparse parser or a pytest option group; pytest's own ``--budget`` (bench budgets)
    makes the plugin call the device budget ``--health-budget``.
    """
    add = getattr(parser, "add_argument", None) or parser.addoption
    default = HealthLimits()
    add("--max-clock-skew", type=float, default=default.max_clock_skew_s, metavar="S",
        help="largest clock skew against the controller (default: %(default)s s)")
    add("--min-free-mib", type=int, default=default.min_free_greengrass // MIB, metavar="MIB",
        help="free disk needed on the Greengrass root and /tmp (default: %(default)s MiB)")
    add(budget_flag, type=float, default=default.device_budget_s, metavar="S",
        help="time bound of all health checks of one device (default: %(default)s s)")


def check(args: argparse.Namespace) -> int:
    from harness.lab.bringup import LabController
    from harness.lab.inventory import load_lab

    health = check_lab(LabController(load_lab(args.lab)), args.devices or None, limits_of(args))
    sys.stdout.write(to_json(health) + "\n" if args.json else table(health))
    return health.exit_status


def register(lab_subparsers: argparse._SubParsersAction) -> None:
    """Adds ``check`` to ``hil lab``'s actions."""
    parser = lab_subparsers.add_parser("check", help="health-check devices (reachable, clock, disk, Greengrass, "
                                                     "DLR, arch, CPU); exit 1 when any is quarantined")
    parser.add_argument("--lab", type=Path, default=None, metavar="FILE",
                        help="lab file (default: the embedded lab, devices/lab.yaml)")
    parser.add_argument("--json", action="store_true", help="print one JSON document")
    add_limit_options(parser)
    parser.add_argument("devices", nargs="*", metavar="DEVICE", help="devices to check (default: all)")
    parser.set_defaults(func=check)
