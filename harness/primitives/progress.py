"""Progress for anything that takes more than a few seconds, on stderr so stdout stays data.

Two callback types, each with one name: ``Say`` takes a line, ``TransferProgress`` takes
(bytes done, bytes total).
"""

from __future__ import annotations

import time
from collections.abc import Callable

from rich.console import Console

#: A progress sink for lines of text.
Say = Callable[[str], None]
#: Called with (bytes done, bytes total) during long transfers.
TransferProgress = Callable[[int, int], None]

_console = Console(stderr=True, highlight=False)
_start = time.monotonic()


def say(message: str) -> None:
    """One timestamped progress line: ``[  12.3s] building hil-core:arm64-…``."""
    _console.print(f"[dim]\\[{time.monotonic() - _start:7.1f}s][/dim] {message}", markup=True, soft_wrap=True)


def quiet(_: str) -> None:
    """A progress sink for callers that want none."""
