"""Python wheels for an image's platform, downloaded on the controller.

pip inside a container does not trust the controller's egress proxy, and air-gapped labs have no
index at all: the controller downloads wheels for the target platform and the image installs
them offline. Only manylinux_2_27/2_28 tags find current aarch64 wheels (FACTS.md).
"""

from __future__ import annotations

import hashlib
import json
import sys
from pathlib import Path

from harness.errors import FailureClass
from harness.lab.hostsetup import run_host
from harness.lab.paths import state_dir

PYTHON_VERSION = "3.11"  # Debian bookworm's python3
MACHINE = {"amd64": "x86_64", "arm64": "aarch64"}
DOWNLOAD_TIMEOUT = 900.0


def manylinux_platforms(machine: str) -> list[str]:
    """pip's ``--platform`` tags for a ``uname -m`` machine; 2014 alone finds many aarch64 wheels missing or old."""
    return [f"manylinux_2_28_{machine}", f"manylinux_2_27_{machine}", f"manylinux2014_{machine}"]


def platform_tags(arch: str) -> list[str]:
    return manylinux_platforms(MACHINE[arch])


def download(requirements: list[str], arch: str) -> list[Path]:
    """The wheels that satisfy ``requirements`` on ``arch``; cached by the requirement set."""
    key = hashlib.sha256(json.dumps([arch, sorted(requirements)]).encode()).hexdigest()[:16]
    cache = state_dir() / "wheels" / arch
    stamp = cache / f"{key}.json"
    if stamp.exists():
        files = [cache / name for name in json.loads(stamp.read_text())]
        if all(f.exists() for f in files):
            return files
    cache.mkdir(parents=True, exist_ok=True)
    argv = [sys.executable, "-m", "pip", "download", "--only-binary=:all:", "--dest", str(cache),
            "--python-version", PYTHON_VERSION, "--implementation", "cp"]
    for tag in platform_tags(arch):
        argv += ["--platform", tag]
    out = run_host(argv + requirements, DOWNLOAD_TIMEOUT, step="wheels", failure_class=FailureClass.IMAGE,
                   advice=f"every requirement needs a wheel for {', '.join(platform_tags(arch))}")
    names = _downloaded(out)
    stamp.write_text(json.dumps(names))
    return [cache / name for name in names]


def _downloaded(pip_output: str) -> list[str]:
    """Wheel file names from pip download's "Saved X" / "File was already downloaded X" lines."""
    names = []
    for line in pip_output.splitlines():
        for prefix in ("Saved ", "File was already downloaded "):
            if line.strip().startswith(prefix):
                names.append(Path(line.strip()[len(prefix):]).name)
    return names
