"""A lab's bring-up states and the file that remembers the last one reached.

    down → host-ready → engine-up → images-ready → devices-up → ready

``state.json`` holds the state and what later states need from earlier ones (the image tag of
each core). It is read back: a bring-up cut between two states resumes from the last one that
still holds (see :func:`resume_point`).
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from enum import StrEnum
from pathlib import Path
from typing import Any


class LabState(StrEnum):
    DOWN = "down"
    HOST_READY = "host-ready"
    ENGINE_UP = "engine-up"
    IMAGES_READY = "images-ready"
    DEVICES_UP = "devices-up"
    READY = "ready"


ORDER: tuple[LabState, ...] = tuple(LabState)


def after(state: LabState) -> tuple[LabState, ...]:
    """The states a bring-up still has to enter once ``state`` is reached."""
    return ORDER[ORDER.index(state) + 1:]


def resume_point(reached: LabState, holds: Callable[[LabState], bool]) -> LabState:
    """The last state, up to ``reached``, whose check holds, checking in bring-up order.

    A state counts only if every state before it holds too: images cannot be ready on an engine
    that is down. ``holds`` is called for no state past the first that fails.
    """
    last = LabState.DOWN
    for state in ORDER[1:ORDER.index(reached) + 1]:
        if not holds(state):
            break
        last = state
    return last


class StateFile:
    """``state.json``: ``{"state": ..., "since": ..., "data": {...}}``, replaced atomically."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)

    def _read(self) -> dict[str, Any]:
        try:
            document = json.loads(self.path.read_text())
            return document if isinstance(document, dict) else {}
        except (OSError, ValueError):
            return {}

    @property
    def state(self) -> LabState:
        try:
            return LabState(self._read().get("state"))
        except ValueError:
            return LabState.DOWN

    @property
    def data(self) -> dict[str, Any]:
        data = self._read().get("data")
        return data if isinstance(data, dict) else {}

    def enter(self, state: LabState, **data: Any) -> None:
        """Record ``state`` as reached, with ``data`` merged into what earlier states recorded."""
        merged = {} if state is LabState.DOWN else {**self.data, **data}
        tmp = self.path.with_suffix(".json.tmp")
        tmp.write_text(json.dumps({"state": state.value, "since": time.time(), "data": merged}))
        tmp.replace(self.path)
