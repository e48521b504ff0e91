"""Bounded waits: a Timeout that knows what is left, and one polling loop instead of many.

Modelled on labgrid's ``Timeout`` and ``poll_until_success``: a wait names what it waits for, so
the error a caller raises when it runs out can say so.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")


class Timeout:
    """A deadline ``seconds`` from now on the monotonic clock."""

    def __init__(self, seconds: float) -> None:
        if seconds < 0:
            raise ValueError(f"a timeout cannot be negative: {seconds}")
        self.seconds = seconds
        self.start = time.monotonic()
        self.deadline = self.start + seconds

    @property
    def remaining(self) -> float:
        """Seconds left, never below zero."""
        return max(0.0, self.deadline - time.monotonic())

    @property
    def elapsed(self) -> float:
        return time.monotonic() - self.start

    @property
    def expired(self) -> bool:
        return time.monotonic() >= self.deadline

    def sleep(self, interval: float) -> None:
        """Sleep ``interval`` seconds, or only what is left of the deadline."""
        time.sleep(min(interval, self.remaining))


def poll_until(check: Callable[[], T | None], timeout: float | Timeout, *, interval: float = 0.2,
               backoff: float = 1.0, max_interval: float = 5.0) -> T | None:
    """Call ``check`` until it returns something other than None/False, at most until ``timeout``.

    Returns that value, or None when the deadline passed (the caller raises its own typed error,
    which knows the device, the step and what was awaited). ``check`` is always called at least
    once, and once more at the deadline, so a slow last poll is not lost.
    """
    deadline = timeout if isinstance(timeout, Timeout) else Timeout(timeout)
    while True:
        value = check()
        if value is not None and value is not False:
            return value
        if deadline.expired:
            return None
        deadline.sleep(interval)
        interval = min(interval * backoff, max_interval)
