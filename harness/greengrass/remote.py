"""A device call whose non-zero exit is an answer, not an error, named after its Greengrass step.

Transport errors say ``step=exec``/``put``; here they get the Greengrass step instead
("check device artifacts", "read log"), so a report reads what was being done. Commands that
must succeed use ``Transport.check(..., step=...)``, which renames the step the same way.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from harness.errors import HilError
from harness.primitives.progress import TransferProgress
from harness.transport.base import CommandResult, Transport

#: Bytes per second assumed for a transfer's time budget: a slow SD-card board on Wi-Fi.
_SLOW_LINK = 1e6


def run(transport: Transport, argv: Sequence[str], *, step: str, timeout: float,
        stdin: bytes | None = None) -> CommandResult:
    try:
        return transport.run(list(argv), timeout=timeout, stdin=stdin)
    except HilError as exc:
        if exc.step in (None, "exec"):
            exc.step = step
        raise


def put(transport: Transport, local: Path, remote: str, *, step: str, timeout: float | None = None,
        floor: float = 60.0, progress: TransferProgress | None = None) -> None:
    """Copy a file; without ``timeout`` the budget grows with its size (``floor`` + 1 s per MB)."""
    budget = timeout or max(floor, 60.0 + local.stat().st_size / _SLOW_LINK)
    try:
        transport.put(local, remote, timeout=budget, progress=progress)
    except HilError as exc:
        if exc.step in (None, "put", "exec"):
            exc.step = step
        raise
