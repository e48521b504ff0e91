"""Lay out a Greengrass root like a real core: directories, config/config.yaml and bin/ launchers.

Used by the image layer (`python -m simulators.greengrass.layout --root /greengrass/v2 …`) and by tests
(any temporary root), so both run the same `bin/greengrass-cli`.
"""

from __future__ import annotations

import argparse
import shlex
import sys
from pathlib import Path
from typing import Any

import yaml

from simulators.greengrass.release import NUCLEUS_VERSION

DIRS = ("bin", "config", "logs", "packages/recipes", "packages/artifacts", "packages/artifacts-unarchived",
        "work", "deployments")


def _launcher(root: Path, python: str, pythonpath: str, module: str, extra: str = "") -> str:
    return ("#!/bin/sh\n"
            f"# emulated Greengrass nucleus: {module}\n"
            f"GG_ROOT={shlex.quote(str(root))}\nPYTHONPATH={shlex.quote(pythonpath)}\n"
            "export GG_ROOT PYTHONPATH\n"
            f"exec {shlex.quote(python)} -m {module}{extra} \"$@\"\n")


def create(root: Path, *, python: str = sys.executable, pythonpath: str, thing_name: str = "hil-core",
           run_as: str | None = "ggc_user:ggc_group", nucleus_version: str = NUCLEUS_VERSION,
           emulator: dict[str, Any] | None = None, platform_override: dict[str, str] | None = None) -> Path:
    root = root.resolve()
    for d in DIRS:
        (root / d).mkdir(parents=True, exist_ok=True)
    config = root / "config" / "config.yaml"
    if not config.exists():
        nucleus_conf: dict[str, Any] = {"awsRegion": "us-east-1", "runWithDefault": {"posixUser": run_as or ""}}
        if platform_override:
            nucleus_conf["platformOverride"] = platform_override
        config.write_text(yaml.safe_dump({
            "system": {"rootpath": str(root), "thingName": thing_name},
            "services": {"aws.greengrass.Nucleus": {"componentType": "NUCLEUS", "version": nucleus_version,
                                                    "configuration": nucleus_conf}},
            "emulator": emulator or {}}, sort_keys=False))
    for name, module in (("greengrass-cli", "simulators.greengrass.cli"),
                         ("greengrass-nucleus", "simulators.greengrass.supervisor")):
        path = root / "bin" / name
        path.write_text(_launcher(root, python, pythonpath, module))
        path.chmod(0o755)
    return root


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="greengrass-layout", description=__doc__)
    p.add_argument("--root", type=Path, required=True)
    p.add_argument("--python", default=sys.executable)
    p.add_argument("--pythonpath", required=True, help="directory holding the simulators package")
    p.add_argument("--thing-name", default="hil-core")
    p.add_argument("--run-as", default="ggc_user:ggc_group")
    args = p.parse_args(argv)
    create(args.root, python=args.python, pythonpath=args.pythonpath, thing_name=args.thing_name,
           run_as=args.run_as or None)
    return 0


if __name__ == "__main__":
    sys.exit(main())
