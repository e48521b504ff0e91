"""Pure rules of the emulated nucleus's store and artifacts, each against the nucleus source it follows."""

from __future__ import annotations

import os

import pytest

from simulators.greengrass.artifacts import _mode
from simulators.greengrass.recipe import ComponentArtifact
from simulators.greengrass.resolution import rotated_previous, versions_to_keep

ROOT = os.geteuid() == 0


@pytest.mark.parametrize(("read", "execute", "mode"), [
    # models/Permission.java:35-47: owner always reads, group = owner, execute implies read
    ("OWNER", "NONE", 0o440), ("ALL", "NONE", 0o444), ("NONE", "NONE", 0o400),
    ("NONE", "OWNER", 0o550), ("OWNER", "OWNER", 0o550), ("ALL", "OWNER", 0o554),
    ("NONE", "ALL", 0o555), ("ALL", "ALL", 0o555),
])
def test_permission_field_gives_the_nucleus_mode(read: str, execute: str, mode: int) -> None:
    art = ComponentArtifact("s3://b/f", None, "SHA-256", "NONE", read, execute)
    # util/Permissions.java:56-62: the owner's write bit only when the nucleus is not root
    assert _mode(art) == mode | (0 if ROOT else 0o200)


def test_store_keeps_running_and_previous_version_rotating_like_the_nucleus() -> None:
    """KernelConfigResolver.java:711-733, ComponentManager.java:621-654."""
    entry: dict | None = None
    kept = []
    for version in ("1.0.0", "2.0.0", "3.0.0", "3.0.0", "3.0.0"):
        previous = rotated_previous(entry, version)
        entry = {"version": version, **({"previousVersion": previous} if previous else {})}
        kept.append(versions_to_keep({"components": {"a": entry}})["a"])
    assert kept == [{"1.0.0"}, {"1.0.0", "2.0.0"}, {"2.0.0", "3.0.0"}, {"3.0.0"}, {"3.0.0"}]
    assert versions_to_keep({"components": {}}) == {}
