"""The `hil` command line. Each room registers its own sub-commands."""

from __future__ import annotations

import argparse
import importlib
import sys

from harness.errors import HilError

#: Modules exposing ``register(subparsers)``; each sub-command sets ``func(args) -> int``.
COMMAND_MODULES = [
    "harness.lab.cli",
    "harness.run",
    "harness.compile.cli",
    "harness.runtime.cli",
    "harness.greengrass.cli",
    "harness.bench.cli",
    "harness.reproduce.cli",
    "harness.report.cli",
]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="hil", description=__doc__)
    subparsers = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name in COMMAND_MODULES:
        importlib.import_module(name).register(subparsers)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
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
