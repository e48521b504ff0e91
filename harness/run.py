"""`hil run`: the shipped scenarios against a lab, with the reports written under reports/<run-id>/."""

from __future__ import annotations

import argparse
import secrets
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest

from harness.lab.cli import add_lab_option
from harness.lab.paths import SOURCE_ROOT

SCENARIOS = Path(__file__).parent / "scenarios"
REPORTS = SOURCE_ROOT / "reports"


def new_run_id() -> str:
    """Sortable and unique: UTC time plus a short random suffix for runs started in the same second."""
    return datetime.now(UTC).strftime("%Y%m%d-%H%M%S-") + secrets.token_hex(2)


def _run(args: argparse.Namespace) -> int:
    run_dir = (args.reports or REPORTS) / new_run_id()
    run_dir.mkdir(parents=True)
    argv = [str(SCENARIOS), "-p", "no:cacheprovider", "-rfEs", f"--html={run_dir / 'index.html'}",
            "--self-contained-html", f"--junitxml={run_dir / 'junit.xml'}", "-o", "junit_family=xunit1"]
    if args.lab:
        argv.append(f"--lab={args.lab}")
    code = pytest.main(argv + args.pytest_args)
    outcome = "passed" if code == 0 else f"FAILED (pytest exit {int(code)})"
    print(f"hil run: {outcome}; report: {run_dir / 'index.html'}", file=sys.stderr)
    return int(code)


def register(subparsers: argparse._SubParsersAction) -> None:
    run = subparsers.add_parser("run", help="run the shipped scenarios on a lab and write the reports")
    add_lab_option(run)
    run.add_argument("--reports", type=Path, default=None, metavar="DIR",
                     help="where run directories go (default: reports/ in the source tree)")
    run.add_argument("pytest_args", nargs=argparse.REMAINDER, metavar="PYTEST_ARGS",
                     help="passed to pytest, e.g. -k smoke --device rasp4b-emu")
    run.set_defaults(func=_run)
