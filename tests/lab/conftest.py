"""The lab tier's shared fixtures."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.lab.gg_conformance import UserCore


@pytest.fixture
def core(device: Any, tmp_path: Path) -> Iterator[UserCore]:
    """A Greengrass core as its user sees it, with a private scratch directory on the device."""
    user = UserCore(device, tmp_path)
    yield user
    user.close()
