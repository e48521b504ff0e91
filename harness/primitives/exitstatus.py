"""Exit statuses as a shell reports them: 128+N for a process killed by signal N."""

from __future__ import annotations

import signal


def signal_of(exit_status: int | None) -> int | None:
    """The signal that ended a process, read from a shell-style exit status (132 → 4, SIGILL)."""
    if exit_status is not None and 128 < exit_status < 160:
        return exit_status - 128
    return None


def from_returncode(returncode: int) -> int:
    """Python's negative returncode for a signal (``-4``) in the shell's spelling (``132``)."""
    return 128 - returncode if returncode < 0 else returncode


def signal_name(number: int) -> str:
    try:
        return signal.Signals(number).name
    except ValueError:
        return f"signal {number}"
