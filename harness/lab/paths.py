"""Where the lab keeps its state on the controller, and where the product's data lives (harness.resources)."""

from __future__ import annotations

import os
from pathlib import Path

from harness import resources

#: The directory holding the harness and simulators packages (a checkout, or site-packages of a wheel).
SOURCE_ROOT = resources.code_root()
DEVICES_DIR = resources.devices_dir()
DEFAULT_LAB_FILE = resources.default_lab_file()
PROFILES_DIR = resources.profiles_dir()
LAYERS_DIR = resources.layers_dir()


def state_dir() -> Path:
    """The lab state directory: private engine, image build caches, keys, per-lab state.

    ``HIL_STATE_DIR`` overrides ``~/.cache/hil``. Paths under it must stay short: the private
    engine's unix sockets live there and a unix socket path is limited to 108 bytes.
    """
    root = Path(os.environ.get("HIL_STATE_DIR") or Path.home() / ".cache" / "hil")
    root.mkdir(parents=True, exist_ok=True)
    return root
