"""The one interface through which commands and files reach a device.

One ``run()`` with a timeout, ``put``/``get`` of files, ``close``: the shape of
pytest-testinfra's backends. Backends live one per file, register their hostspec scheme with
``harness.transport.registry.register`` and are chosen by ``transport_for``.
"""

from __future__ import annotations

import math
import posixpath
import shlex
from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from harness.errors import CommandTimeout, HilError, TransportError
from harness.primitives.deadline import Timeout
from harness.primitives.exitstatus import signal_of
from harness.primitives.hostcmd import tail
from harness.primitives.progress import TransferProgress

if TYPE_CHECKING:
    from harness.transport.registry import TransportSpec

DEFAULT_TIMEOUT = 60.0


@dataclass(frozen=True)
class CommandResult:
    """What a finished command left behind."""

    command: str
    exit_status: int
    stdout: str
    stderr: str

    @property
    def ok(self) -> bool:
        return self.exit_status == 0

    @property
    def signal(self) -> int | None:
        """The signal that killed the command, by the shell's 128+N convention."""
        return signal_of(self.exit_status)


Command = str | Sequence[str]


class CommandFailed(TransportError):
    """A command ran and exited non-zero; ``result`` holds what it printed, for callers that classify it."""

    def __init__(self, detail: str, result: CommandResult, **kwargs: object) -> None:
        self.result = result
        super().__init__(detail, **kwargs)  # type: ignore[arg-type]


def to_shell(command: Command) -> str:
    """A shell line for ``command``: an argv is quoted word by word, a string is taken as shell."""
    if isinstance(command, str):
        return command
    return shlex.join(command)


def bounded(line: str, timeout: float, env: dict[str, str] | None = None) -> str:
    """``line`` wrapped so that the device itself kills it one second after ``timeout``.

    Closing a channel does not stop a remote process; this keeps a timed-out command from
    lingering on the board. ``env`` is set with ``env(1)`` because sshd drops most variables.
    """
    wrapped = f"timeout -s KILL {math.ceil(timeout) + 1} sh -c {shlex.quote(line)}"
    if env:
        wrapped = "env " + " ".join(shlex.quote(f"{k}={v}") for k, v in env.items()) + " " + wrapped
    return wrapped


class Transport(ABC):
    """How one device is reached. ``device`` is the inventory name used in every error."""

    #: Set by ``registry.register``: the hostspec scheme this backend serves.
    scheme: str = ""

    def __init__(self, device: str) -> None:
        self.device = device

    @classmethod
    def from_spec(cls, spec: TransportSpec) -> Transport:
        """The transport for a device address; each registered backend implements it."""
        raise NotImplementedError(f"{cls.__name__} does not build from a hostspec")

    @abstractmethod
    def run(
        self,
        command: Command,
        *,
        timeout: float = DEFAULT_TIMEOUT,
        stdin: bytes | None = None,
        env: dict[str, str] | None = None,
    ) -> CommandResult:
        """Run ``command`` (argv or shell line) and wait at most ``timeout`` seconds.

        Raises CommandTimeout (the remote process is killed where the backend can),
        DeviceUnreachable, or TransportError; a non-zero exit is a result, not an error.
        """

    @abstractmethod
    def put(self, local: Path, remote: str, *, timeout: float = DEFAULT_TIMEOUT,
            progress: TransferProgress | None = None) -> None:
        """Copy a local file to ``remote`` (a file path on the device)."""

    @abstractmethod
    def get(self, remote: str, local: Path, *, timeout: float = DEFAULT_TIMEOUT,
            progress: TransferProgress | None = None) -> None:
        """Copy the device file ``remote`` to ``local``."""

    def put_dir(self, local: Path, remote: str, *, timeout: float = DEFAULT_TIMEOUT,
                progress: TransferProgress | None = None) -> list[str]:
        """Copy the regular files under ``local`` to ``remote`` (created), all within ``timeout``.

        Links and special files are not followed: an artifact must not smuggle in paths outside itself.
        Returns the remote paths written.
        """
        local = Path(local)
        files = sorted(p for p in local.rglob("*") if p.is_file() and not p.is_symlink())
        dirs = sorted({remote} | {posixpath.join(remote, p.parent.relative_to(local).as_posix()) for p in files})
        deadline = Timeout(timeout)
        self.check(["mkdir", "-p", *dirs], timeout=timeout, step="put")
        written = []
        for path in files:
            remaining = deadline.remaining
            if remaining <= 0:
                raise CommandTimeout(f"put {local} -> {remote}: not done after {timeout:g} s",
                                     device=self.device, step="put")
            target = posixpath.join(remote, path.relative_to(local).as_posix())
            self.put(path, target, timeout=remaining, progress=progress)
            written.append(target)
        return written

    def close(self) -> None:  # noqa: B027 - optional for stateless backends
        """Release connections; the transport may be used again afterwards."""

    def check(self, command: Command, *, timeout: float = DEFAULT_TIMEOUT, step: str = "exec",
              stdin: bytes | None = None, env: dict[str, str] | None = None) -> CommandResult:
        """Run ``command`` and raise TransportError naming ``step`` unless it exits 0.

        A backend error (timeout, lost connection) raised as step ``exec`` is renamed ``step`` too,
        so the report says what was being done. A non-zero exit raises CommandFailed (a TransportError
        that keeps the ``result``).
        """
        try:
            result = self.run(command, timeout=timeout, stdin=stdin, env=env)
        except HilError as exc:
            if exc.step in (None, "exec"):
                exc.step = step
            raise
        if not result.ok:
            raise CommandFailed(
                f"`{result.command}` exited {result.exit_status}: {tail(result.stderr or result.stdout)}",
                result, device=self.device, step=step)
        return result

    def __enter__(self) -> Transport:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
