"""Bounded waits inside the emulator: a monotonic deadline and one polling loop.

The emulator runs inside cores and never imports the harness, so it keeps this small twin of
``harness.primitives.deadline`` (same names, same meaning) instead of a loop per caller.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")


class Deadline:
    """``seconds`` from now on the monotonic clock."""

    def __init__(self, seconds: float) -> None:
        self.start = time.monotonic()
        self.at = self.start + seconds

    @property
    def remaining(self) -> float:
        return max(0.0, self.at - time.monotonic())

    @property
    def expired(self) -> bool:
        return time.monotonic() >= self.at


def poll_until(check: Callable[[], T | None], seconds: float, interval: float = 0.02) -> T | None:
    """``check()``'s first value that is not None/False, or None once ``seconds`` have passed
    (``check`` runs at least once, and once more at the deadline)."""
    deadline = Deadline(seconds)
    while True:
        value = check()
        if value is not None and value is not False:
            return value
        if deadline.expired:
            return None
        time.sleep(min(interval, deadline.remaining))
