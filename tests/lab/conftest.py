"""The lab tier's shared fixtures."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.lab.gg_conformance import UserCore


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Tests marked ``nightly`` (too slow for CI's budget) run only with HIL_NIGHTLY=1."""
    if os.environ.get("HIL_NIGHTLY"):
        return
    skip = pytest.mark.skip(reason="nightly only: HIL_NIGHTLY=1 runs it")
    for item in items:
        if item.get_closest_marker("nightly"):
            item.add_marker(skip)


@pytest.fixture
def core(device: Any, tmp_path: Path) -> Iterator[UserCore]:
    """A Greengrass core as its user sees it, with a private scratch directory on the device."""
    user = UserCore(device, tmp_path)
    yield user
    user.close()
