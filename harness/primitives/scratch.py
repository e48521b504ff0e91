"""A scratch directory on a device: private (0700), unpredictable (mktemp), removed after use.

A fixed, world-guessable path (``mkdir -p /tmp/hil-x``) can be pre-created by another local user
on a shared board, who then swaps what we stage there before a privileged step reads it.
``mktemp -d`` under ``umask 077`` creates a fresh directory only we can enter.
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

from harness.errors import HilError

if TYPE_CHECKING:
    from harness.transport.base import Transport

SCRATCH_TIMEOUT = 30.0
_PURPOSE = re.compile(r"^[a-z][a-z0-9-]{0,31}$")


def make_scratch(transport: Transport, purpose: str, *, parent: str = "/tmp") -> str:
    """Create ``{parent}/hil-{purpose}.XXXXXXXX`` on the device and return its path."""
    if not _PURPOSE.fullmatch(purpose):
        raise ValueError(f"scratch purpose must be lower-case letters, digits and -: {purpose!r}")
    template = shlex.quote(f"{parent.rstrip('/')}/hil-{purpose}.XXXXXXXX")
    result = transport.check(f"umask 077 && mktemp -d {template}", timeout=SCRATCH_TIMEOUT, step=f"{purpose} scratch")
    return result.stdout.strip()


def remove_scratch(transport: Transport, path: str) -> None:
    """Remove a directory made by :func:`make_scratch` (only such paths are accepted)."""
    if not re.fullmatch(r"/[A-Za-z0-9_./-]*/hil-[a-z0-9-]+\.[A-Za-z0-9]{8}", path) or "/../" in path:
        raise ValueError(f"not a scratch directory: {path!r}")
    transport.run(["rm", "-rf", "--", path], timeout=SCRATCH_TIMEOUT)


@contextmanager
def scratch_dir(transport: Transport, purpose: str, *, parent: str = "/tmp", keep: bool = False) -> Iterator[str]:
    """A private scratch directory on the device for the ``with`` block; removed after unless ``keep``.

    When the block fails, a failing removal is dropped: the block's own error is the one to report.
    """
    path = make_scratch(transport, purpose, parent=parent)
    try:
        yield path
    except BaseException:
        if not keep:
            try:
                remove_scratch(transport, path)
            except HilError:
                pass
        raise
    if not keep:
        remove_scratch(transport, path)
