"""Python wheels for a target machine, downloaded on the controller: one downloader, one cache.

pip inside a container does not trust the controller's egress proxy, and air-gapped labs have no
index at all: the controller downloads wheels for the target platform (image layers, the TVM
runtime libdlr links against) and the target installs them offline. Only the manylinux_2_27/2_28
tags find current aarch64 wheels; manylinux2014 alone finds many missing or old.

The cache is ``<state>/wheels/<uname -m>/``: the wheels, plus a stamp per requirement set naming
the files that satisfied it. A pinned requirement without dependencies is also found by file name.
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
from pathlib import Path

from harness.errors import FailureClass, HilError, LabError
from harness.lab.paths import state_dir
from harness.primitives import arch
from harness.primitives.digest import stable_key
from harness.primitives.hostcmd import run_controller
from harness.primitives.progress import Say, quiet

PYTHON_VERSION = "3.11"  # Debian bookworm's python3, the cores' interpreter
DOWNLOAD_TIMEOUT = 900.0


def cache_dir(machine: str) -> Path:
    """Where the wheels of ``machine`` (any spelling: ``arm64``, ``aarch64``) are kept."""
    return state_dir() / "wheels" / arch.machine(machine)


def _pinned(requirements: list[str], folder: Path) -> list[Path] | None:
    """The cached wheel of each ``name==version``, or None unless every one is there."""
    found = []
    for requirement in requirements:
        name, sep, version = requirement.partition("==")
        hits = sorted(folder.glob(f"{name.replace('-', '_')}-{version}-*.whl")) if sep else []
        if not hits:
            return None
        found.append(hits[0])
    return found


def download(requirements: list[str], machine: str, *, deps: bool = True, say: Say = quiet,
             step: str = "wheels", error: type[HilError] = LabError,
             failure_class: FailureClass = FailureClass.IMAGE) -> list[Path]:
    """The wheels that satisfy ``requirements`` on ``machine`` (CPython 3.11), downloaded once.

    ``deps=False`` takes only the named projects. Failures raise ``error`` naming ``step``.
    """
    row = arch.arch(machine)
    folder = cache_dir(row.machine)
    stamp = folder / f"{stable_key([row.machine, sorted(requirements), deps], 16)}.json"
    if stamp.exists():
        files = [folder / name for name in json.loads(stamp.read_text())]
        if all(f.exists() for f in files):
            return files
    if not deps and (files := _pinned(requirements, folder)) is not None:
        return files
    folder.mkdir(parents=True, exist_ok=True)
    say(f"downloading {' '.join(requirements)} for {row.machine} into {folder}")
    argv = [sys.executable, "-m", "pip", "download", "--only-binary=:all:", "--python-version", PYTHON_VERSION,
            "--implementation", "cp", *([] if deps else ["--no-deps"])]
    for tag in row.wheel_platforms():
        argv += ["--platform", tag]
    # Into a private directory first: a concurrent build must never see a half-written wheel.
    with tempfile.TemporaryDirectory(prefix=".download-", dir=folder) as tmp:
        run_controller([*argv, "--dest", tmp, *requirements], DOWNLOAD_TIMEOUT, step=step,
                       failure_class=failure_class, error=error,
                       advice=f"check the PyPI mirror (pip config list); every requirement needs a wheel for "
                              f"{', '.join(row.wheel_platforms())}")
        names = sorted(p.name for p in Path(tmp).glob("*.whl"))
        if not names:
            raise error(f"pip download {' '.join(requirements)} ({row.machine}) saved no wheel", step=step,
                        failure_class=failure_class)
        for name in names:
            os.replace(Path(tmp) / name, folder / name)
    stamp.write_text(json.dumps(names))
    return [folder / name for name in names]
