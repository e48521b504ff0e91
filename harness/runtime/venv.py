"""Put a libdlr where the unmodified PyPI ``dlr`` wrapper finds it, with phone-home switched off.

``dlr/libpath.py`` looks (after the model directory) in ``sys.prefix/dlr`` first, so a venv's own
``<prefix>/dlr/`` is the device-wide location; devices/images/layers/30-dlr-runtime/install.sh does
the same inside emulated cores. ``import dlr`` sends HTTP to an AWS endpoint (no timeout) unless
``dlr/counter/ccm_config.json`` disables it, so that file is written before anything imports dlr.
"""

from __future__ import annotations

import importlib.util
import json
import platform
import shutil
import sys
import tempfile
from pathlib import Path

from harness.primitives.progress import Say
from harness.runtime.build import LIBS, build_libdlr, say_stderr
from harness.runtime.wheels import RuntimeBuildError

PHONE_HOME_CONFIG = Path("counter") / "ccm_config.json"


def dlr_package_dir() -> Path:
    """The installed ``dlr`` package directory, found without importing (importing phones home)."""
    spec = importlib.util.find_spec("dlr")
    if spec is None or spec.origin is None:
        raise RuntimeBuildError("the PyPI dlr wrapper is not installed in this environment",
                                step="dlr install", advice="pip install dlr==1.10.0")
    return Path(spec.origin).parent


def disable_phone_home(package_dir: Path | None = None) -> Path:
    """Write ``{"enable_phone_home": false}`` into dlr's ccm_config.json, keeping other keys."""
    path = (package_dir or dlr_package_dir()) / PHONE_HOME_CONFIG
    config: dict[str, object] = {}
    try:
        loaded = json.loads(path.read_text())
        if isinstance(loaded, dict):
            config = loaded
    except (OSError, ValueError):
        pass
    if config.get("enable_phone_home") is not False:
        config["enable_phone_home"] = False
        path.write_text(json.dumps(config) + "\n")
    return path


def install_libdlr(lib_dir: Path, prefix: Path | str = sys.prefix) -> Path:
    """Copy libdlr.so and its TVM runtime libraries from ``lib_dir`` into ``<prefix>/dlr/``."""
    dest = Path(prefix) / "dlr"
    dest.mkdir(parents=True, exist_ok=True)
    for name in LIBS:
        tmp = dest / f".{name}.tmp"
        shutil.copy2(lib_dir / name, tmp)
        tmp.replace(dest / name)  # atomic: a process that has the old one mapped keeps it
    return dest / "libdlr.so"


def prepare_host_dlr(runtime: str = "tvm-0.27", *, say: Say = say_stderr) -> Path:
    """For host test runs: disable phone-home, build libdlr for this host and install it into this venv.

    Safe to call from several pytest workers at once; returns ``sys.prefix/dlr/libdlr.so``.
    """
    disable_phone_home()
    with tempfile.TemporaryDirectory(prefix="libdlr-") as tmp:
        build_libdlr(platform.machine(), runtime, tmp, say=say)
        return install_libdlr(Path(tmp))
