"""One device call of a Greengrass step: through the transport, bounded, named in its errors.

Transport errors say ``step=exec``/``put``; here they get the Greengrass step instead
("stage components", "deployment status"), so a report reads what was being done.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from harness.errors import HilError, TransportError
from harness.transport.base import CommandResult, Progress, Transport

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


def check(transport: Transport, argv: Sequence[str], *, step: str, timeout: float) -> CommandResult:
    """``run`` and raise TransportError naming the step unless the command exits 0."""
    result = run(transport, argv, step=step, timeout=timeout)
    if not result.ok:
        tail = " | ".join((result.stderr or result.stdout).strip().splitlines()[-3:]) or "(no output)"
        raise TransportError(f"`{argv[0]}` exited {result.exit_status}: {tail}", device=transport.device, step=step)
    return result


def put(transport: Transport, local: Path, remote: str, *, step: str, timeout: float | None = None,
        floor: float = 60.0, progress: Progress | None = None) -> None:
    """Copy a file; without ``timeout`` the budget grows with its size (``floor`` + 1 s per MB)."""
    budget = timeout or max(floor, 60.0 + local.stat().st_size / _SLOW_LINK)
    try:
        transport.put(local, remote, timeout=budget, progress=progress)
    except HilError as exc:
        if exc.step in (None, "put", "exec"):
            exc.step = step
        raise
