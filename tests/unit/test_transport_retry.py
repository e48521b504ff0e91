"""Which link faults are worth another attempt (harness.transport.retry.transient), with the exceptions
paramiko really raises: ``Transport._check_banner`` wraps whatever its read raised as
``SSHException("Error reading SSH protocol banner" + str(e))`` inside the ``except`` block, so the cause
is the wrapper's ``__context__`` (paramiko/transport.py)."""

from __future__ import annotations

import paramiko
import pytest

from harness.transport import retry


def banner_error(cause: BaseException) -> paramiko.SSHException:
    try:
        try:
            raise cause
        except Exception as e:
            raise paramiko.SSHException("Error reading SSH protocol banner" + str(e))  # noqa: B904 (paramiko's form)
    except paramiko.SSHException as wrapped:
        return wrapped


@pytest.mark.parametrize("exc", [banner_error(ConnectionResetError(104, "Connection reset by peer")),
                                 banner_error(EOFError()), ConnectionResetError(), BrokenPipeError(),
                                 paramiko.SSHException("SSH session not active")])
def test_resets_and_dropped_links_are_transient(exc: BaseException) -> None:
    assert retry.transient(exc)


@pytest.mark.parametrize("exc", [banner_error(TimeoutError()), TimeoutError(), ConnectionRefusedError(),
                                 paramiko.AuthenticationException("no"), paramiko.SSHException("Invalid SSH banner")])
def test_silence_refusal_and_bad_credentials_are_not_retried(exc: BaseException) -> None:
    assert retry.transient(exc) is None


def test_a_silent_peer_fails_after_one_attempt_with_nothing_recorded() -> None:
    calls = []

    def silent() -> None:
        calls.append(1)
        raise banner_error(TimeoutError())

    retry.drain()
    with pytest.raises(paramiko.SSHException):
        retry.retrying("mute-pi", "connect", silent, first_delay=0)
    assert calls == [1] and retry.drain() == []
