"""SIGTERM ends a session the way Ctrl-C does, so what the session holds is given back.

CI runners and ``timeout`` stop a job with SIGTERM, whose default action ends the process at once: no fixture
teardown, no ``atexit``. A labgrid place would stay locked (the coordinator keeps it until its holder releases
it), a deployment would stay on its core. pytest already has the orderly way out for Ctrl-C: a KeyboardInterrupt
ends the run loop, ``pytest_sessionfinish`` tears every fixture down (pytest's runner: ``teardown_exact``), the
reports are written and pytest exits 2 (interrupted). The handler raises that KeyboardInterrupt. Further SIGTERMs
while the session winds down are only noted, so they cannot cut a teardown half way (each remote step of a
teardown is bounded; SIGKILL still ends a wedged one).

Under xdist the controller's interrupt makes xdist end its workers (``gateway.exit()``; execnet interrupts a worker
still running a test with SIGINT after 5 s), and a worker that gets SIGTERM itself (the job's whole process group
is signalled) ends its own session the same way.
"""

from __future__ import annotations

import signal
import sys
import threading
from types import FrameType
from typing import Any

import pytest

_PREVIOUS = pytest.StashKey[Any]()


class Terminated(KeyboardInterrupt):
    """SIGTERM, delivered as pytest's Ctrl-C."""


def _on_sigterm(signum: int, frame: FrameType | None) -> None:
    signal.signal(signal.SIGTERM, _winding_down)
    raise Terminated("SIGTERM: ending the session as after Ctrl-C (fixtures torn down, places released)")


def _winding_down(signum: int, frame: FrameType | None) -> None:
    print("hil: SIGTERM again: the session is already ending (SIGKILL ends it now)", file=sys.stderr, flush=True)


def install(config: pytest.Config) -> None:
    """From ``pytest_configure``: only the main thread may set handlers (pytest run from a thread keeps the default)."""
    if threading.current_thread() is not threading.main_thread():
        return
    config.stash[_PREVIOUS] = signal.signal(signal.SIGTERM, _on_sigterm)


def uninstall(config: pytest.Config) -> None:
    """From ``pytest_unconfigure``: the process (``hil run``, an embedding program) gets its own handler back."""
    previous = config.stash.get(_PREVIOUS, None)
    if previous is not None:
        signal.signal(signal.SIGTERM, previous)
