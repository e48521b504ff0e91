"""Fresh venvs outside the checkout whose dependencies are the project's already-resolved environment.

Installing apache-tvm, onnxruntime, OpenCV, matplotlib … into a new venv takes minutes and the network.
Instead a venv made here sees this test run's own environment (``sys.prefix``) through one ``.pth`` line
naming a directory of symlinks to its site-packages entries, minus the distributions the test installs
itself (edge-hil from its wheel, dlr from PyPI's wheel), found through their RECORD files. Symlinked
entries' own ``.pth`` files are not run, and none of the project's dependencies needs one.
"""

from __future__ import annotations

import importlib.metadata
import os
import subprocess
import sys
import sysconfig
from dataclasses import dataclass
from pathlib import Path

#: Installed into the venv by the test, never seen through the project's environment.
OWN = ("edge-hil", "dlr")


@dataclass(frozen=True)
class Venv:
    root: Path

    @property
    def python(self) -> Path:
        return self.root / "bin" / "python"

    @property
    def bin(self) -> Path:
        return self.root / "bin"

    def site_packages(self) -> Path:
        out = subprocess.run([str(self.python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                             capture_output=True, text=True, check=True, timeout=60, env=clean_env(self))
        return Path(out.stdout.strip())

    def pip_install(self, *args: str | Path, timeout: float = 300) -> None:
        """This run's pip installs into the venv (``pip --python``): the venv itself needs no pip."""
        subprocess.run([sys.executable, "-m", "pip", "--python", str(self.python), "install", "--quiet",
                        "--no-deps", "--no-index", *map(str, args)], check=True, timeout=timeout,
                       env=clean_env(self))


def _owned_entries(names: tuple[str, ...]) -> set[str]:
    """Top-level site-packages entries that belong to the distributions ``names`` (from their RECORD)."""
    entries: set[str] = set()
    for name in names:
        try:
            files = importlib.metadata.distribution(name).files or []
        except importlib.metadata.PackageNotFoundError:
            continue
        entries.update(f.parts[0] for f in files if f.parts and f.parts[0] != "..")
    return entries


def make_venv(root: Path) -> Venv:
    """A venv at ``root/venv`` with the project's dependencies but neither edge-hil nor dlr."""
    venv = Venv(root / "venv")
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv.root)], check=True, timeout=120)
    deps = root / "project-deps"
    deps.mkdir()
    skip = _owned_entries(OWN) | {"__pycache__"}
    for entry in sorted(Path(sysconfig.get_paths()["purelib"]).iterdir()):
        if entry.name not in skip and entry.suffix != ".pth":
            (deps / entry.name).symlink_to(entry)
    (venv.site_packages() / "project-deps.pth").write_text(f"{deps}\n")
    return venv


def download_dlr(dest: Path) -> Path:
    """PyPI's dlr wheel at the version the project resolved (through pip's cache when it has it)."""
    version = importlib.metadata.version("dlr")
    subprocess.run([sys.executable, "-m", "pip", "download", "--quiet", "--no-deps", "--only-binary=:all:",
                    f"dlr=={version}", "-d", str(dest)], check=True, timeout=300)
    return next(dest.glob("dlr-*.whl"))


def clean_env(venv: Venv, **extra: str) -> dict[str, str]:
    """This environment without anything that points Python at the checkout, the venv first on PATH."""
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME", "PYTHONSTARTUP")}
    env.update(VIRTUAL_ENV=str(venv.root), PATH=f"{venv.bin}{os.pathsep}{env.get('PATH', '')}", **extra)
    return env
