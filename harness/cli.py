"""The `hil` command line. Each package registers its own sub-commands."""

from __future__ import annotations

import argparse
import importlib
import sys

from harness.errors import HilError
from harness.privacy import phone_home_off

#: Modules exposing ``register(subparsers)``; each sub-command sets ``func(args) -> int``.
COMMAND_MODULES = [
    "harness.lab.cli",
    "harness.faults.cli",
    "harness.run",
    "harness.compile.cli",
    "harness.runtime.cli",
    "harness.greengrass.hil_command",
    "harness.bench.cli",
    "harness.reproduce.cli",
    "harness.report.cli",
    "harness.starter.cli",
]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="hil", description=__doc__)
    subparsers = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name in COMMAND_MODULES:
        importlib.import_module(name).register(subparsers)
    return parser


#: Sub-commands whose unknown options belong to pytest (`hil run -k smoke -n 2`).
PASS_THROUGH = {"run"}


def main(argv: list[str] | None = None) -> int:
    phone_home_off()  # before any sub-command (or a --help) can import dlr
    try:
        parser = build_parser()
    except HilError as exc:  # e.g. the product's data missing from an incomplete install: one line, no traceback
        print(f"hil: {exc}", file=sys.stderr)
        return 2
    args, unknown = parser.parse_known_args(argv)
    if unknown:
        if args.command not in PASS_THROUGH:
            parser.error(f"unrecognized arguments: {' '.join(unknown)}")
        args.pytest_args = unknown + args.pytest_args
    try:
        return int(args.func(args) or 0)
    except HilError as exc:
        print(f"hil: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("hil: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
