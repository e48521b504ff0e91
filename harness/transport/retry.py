"""Transient link faults retried with backoff, a bounded number of times, and every retry kept.

Only idempotent operations are retried: the SSH connection itself (TCP connect, banner, key exchange),
opening a session before its command was sent, and whole file transfers (the same bytes to the same
path). A command whose connection drops after it was sent is never run again: it may have run. A
refused connection is not transient (the board is off or sshd is down) and fails at once; neither is a
peer that stays silent past the connect timeout (retrying would multiply the bound the user set).

Each retry is a finding (a flaky board, cable or switch): it is recorded with the device, the step,
the cause and the delay, and the pytest plugin hands the records to results.json per device.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import TypeVar

import paramiko

T = TypeVar("T")
ATTEMPTS = 3
FIRST_DELAY_S = 0.5
BACKOFF = 2.0
#: paramiko's words for a link that went away: "Error reading SSH protocol banner", "SSH session not
#: active", "Server connection dropped", "Connection reset by peer" (paramiko/transport.py, sftp_client.py).
_SSH_TRANSIENT = ("error reading ssh protocol banner", "not active", "dropped", "reset", "closed", "eof")


@dataclass(frozen=True)
class Retry:
    device: str
    step: str
    cause: str
    delay_s: float
    attempt: int

    def as_dict(self) -> dict[str, object]:
        return asdict(self)


_lock = threading.Lock()
_log: list[Retry] = []


def drain() -> list[Retry]:
    """The retries recorded in this process since the last call."""
    with _lock:
        taken = list(_log)
        _log.clear()
    return taken


def transient(exc: BaseException) -> str | None:
    """Why ``exc`` is a transient link fault worth one more attempt, or None."""
    if isinstance(exc, ConnectionRefusedError | TimeoutError) or isinstance(exc.__context__, TimeoutError):
        return None  # paramiko wraps a banner timeout in SSHException("Error reading SSH protocol banner")
    if isinstance(exc, ConnectionResetError | ConnectionAbortedError | BrokenPipeError):
        return f"connection reset ({exc.__class__.__name__})"
    if isinstance(exc, EOFError):
        return "connection closed by the peer"
    if isinstance(exc, paramiko.AuthenticationException | paramiko.BadHostKeyException):
        return None
    if isinstance(exc, paramiko.SSHException):
        text = str(exc)
        if not text or any(word in text.lower() for word in _SSH_TRANSIENT):
            return f"ssh: {text or exc.__class__.__name__}"
    return None


def retrying(device: str, step: str, operation: Callable[[], T], *, attempts: int = ATTEMPTS,
             first_delay: float = FIRST_DELAY_S, before_retry: Callable[[], None] | None = None) -> T:
    """``operation()``, again after a transient fault (``first_delay``, then doubling), at most ``attempts`` times."""
    delay = first_delay
    for attempt in range(1, attempts + 1):
        try:
            return operation()
        except Exception as exc:
            cause = transient(exc)
            if cause is None or attempt == attempts:
                raise
            with _lock:
                _log.append(Retry(device, step, cause, delay, attempt))
            if before_retry is not None:
                before_retry()
            time.sleep(delay)
            delay *= BACKOFF
    raise AssertionError("unreachable")  # the loop returns or raises
