"""Progress lines for anything that takes more than a few seconds, on stderr so stdout stays data."""

from __future__ import annotations

import time

from rich.console import Console

_console = Console(stderr=True, highlight=False)
_start = time.monotonic()


def say(message: str) -> None:
    """One timestamped progress line: ``[  12.3s] building hil-core:arm64-…``."""
    _console.print(f"[dim]\\[{time.monotonic() - _start:7.1f}s][/dim] {message}", markup=True, soft_wrap=True)
