"""The selection markers ``arch``, ``profile`` and ``feature``: checked when tests are collected,
applied when a test's ``device`` is set up.

A malformed marker (no names, a name that is not a string, an architecture the harness does not know,
a feature with more than a name and a value) is a usage error naming the test, before anything runs.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from harness.primitives.arch import UnknownArch, machine

if TYPE_CHECKING:
    from harness.lab.device import Device

LINES = ("arch(*names): run only on devices whose profile has one of these architectures",
         "profile(*names): run only on devices with one of these profiles",
         "feature(name, value): run only on devices with this feature (value optional)",
         "lab: needs the device lab (emulated cores or real boards)")
_SCALAR = (str, int, float, bool)


def register(config: pytest.Config) -> None:
    for line in LINES:
        config.addinivalue_line("markers", line)


def _problem(mark: pytest.Mark) -> str | None:
    """What is wrong with one selection marker, or None."""
    if mark.kwargs:
        return f"takes no keyword arguments (got {', '.join(sorted(mark.kwargs))})"
    if mark.name in ("arch", "profile"):
        if not mark.args:
            return "needs at least one name"
        if not all(isinstance(a, str) for a in mark.args):
            return "takes names as strings"
        if mark.name == "arch":
            for name in mark.args:
                try:
                    machine(name)
                except UnknownArch as exc:
                    return str(exc)
        return None
    if not 1 <= len(mark.args) <= 2:
        return f"takes a name and an optional value, got {len(mark.args)} arguments"
    if not isinstance(mark.args[0], str):
        return "takes the feature's name as a string"
    if len(mark.args) == 2 and not isinstance(mark.args[1], _SCALAR):
        return "takes the feature's value as a string or a number"
    return None


def check(item: pytest.Item) -> None:
    """Raise a usage error naming the test and the marker when a selection marker is malformed."""
    for mark in item.iter_markers():
        if mark.name not in ("arch", "profile", "feature"):
            continue
        problem = _problem(mark)
        if problem:
            shown = ", ".join([repr(a) for a in mark.args] + [f"{k}={v!r}" for k, v in mark.kwargs.items()])
            raise pytest.UsageError(f"{item.nodeid}: @pytest.mark.{mark.name}({shown}) {problem}")


def mismatch(item: pytest.Item, device: Device) -> str | None:
    """Why ``device`` does not suit the test's markers (the skip reason), or None."""
    for mark in item.iter_markers("arch"):
        if device.profile.arch not in {machine(a) for a in mark.args}:
            return f"{device.name} is {device.profile.arch}; test needs {' or '.join(mark.args)}"
    for mark in item.iter_markers("profile"):
        if device.profile.name not in mark.args:
            return f"{device.name} has profile {device.profile.name}; test needs {' or '.join(mark.args)}"
    for mark in item.iter_markers("feature"):
        name, *value = mark.args
        have = device.features.get(name)
        if have is None or (value and have != str(value[0])):
            wanted = f"{name}={value[0]}" if value else name
            return f"{device.name} lacks feature {wanted} (has {name}={have})"
    return None
