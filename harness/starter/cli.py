"""`hil init [DIR]`: the starter for a repository of device tests."""

from __future__ import annotations

import argparse
from pathlib import Path

from harness.starter.writer import write_starter


def _init(args: argparse.Namespace) -> int:
    directory = Path(args.directory)
    outcomes = write_starter(directory)
    print(f"hil init: {directory.resolve()}")
    for outcome in outcomes:
        print(f"  {outcome.action:<7} {outcome.path.relative_to(directory).as_posix():<28} {outcome.note}")
    where = "" if directory.resolve() == Path.cwd().resolve() else f"cd {directory} && "
    print(f"next: {where}pytest   (the first run builds the emulated cores' images: a few minutes)")
    return 0


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("init", help="write a starter lab file, example tests and pytest config "
                                                "into DIR (never overwrites a file)")
    parser.add_argument("directory", nargs="?", default=".", metavar="DIR",
                        help="where to write them (default: the current directory; created if missing)")
    parser.set_defaults(func=_init)
