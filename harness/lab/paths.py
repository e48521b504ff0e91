"""Where the lab keeps its state on the controller, and where the repository's data lives."""

from __future__ import annotations

import os
from pathlib import Path

#: The repository (or source tree) root: devices/, simulators/, fixtures/ live here.
SOURCE_ROOT = Path(__file__).resolve().parents[2]
DEVICES_DIR = SOURCE_ROOT / "devices"
DEFAULT_LAB_FILE = DEVICES_DIR / "lab.yaml"
PROFILES_DIR = DEVICES_DIR / "profiles"
LAYERS_DIR = DEVICES_DIR / "images" / "layers"


def state_dir() -> Path:
    """The lab state directory: private engine, image build caches, keys, per-lab state.

    ``HIL_STATE_DIR`` overrides ``~/.cache/hil``. Paths under it must stay short: the private
    engine's unix sockets live there and a unix socket path is limited to 108 bytes.
    """
    root = Path(os.environ.get("HIL_STATE_DIR") or Path.home() / ".cache" / "hil")
    root.mkdir(parents=True, exist_ok=True)
    return root
