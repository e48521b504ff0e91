"""The one interface through which commands and files reach a device.

One ``run()`` with a timeout, ``put``/``get`` of files, ``close``: the shape of
pytest-testinfra's backends. Backends live one per file and are chosen by hostspec URL.
"""

from __future__ import annotations

import math
import posixpath
import shlex
import time
from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from harness.errors import CommandTimeout, HilError, TransportError

#: Called with (bytes done, bytes total) during long transfers.
Progress = Callable[[int, int], None]

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
        return self.exit_status - 128 if 128 < self.exit_status < 160 else None


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

    scheme: str = ""

    def __init__(self, device: str) -> None:
        self.device = device

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
            progress: Progress | None = None) -> None:
        """Copy a local file to ``remote`` (a file path on the device)."""

    @abstractmethod
    def get(self, remote: str, local: Path, *, timeout: float = DEFAULT_TIMEOUT,
            progress: Progress | None = None) -> None:
        """Copy the device file ``remote`` to ``local``."""

    def put_dir(self, local: Path, remote: str, *, timeout: float = DEFAULT_TIMEOUT,
                progress: Progress | None = None) -> list[str]:
        """Copy the regular files under ``local`` to ``remote`` (created), all within ``timeout``.

        Links and special files are not followed: an artifact must not smuggle in paths outside itself.
        Returns the remote paths written.
        """
        local = Path(local)
        files = sorted(p for p in local.rglob("*") if p.is_file() and not p.is_symlink())
        dirs = sorted({remote} | {posixpath.join(remote, p.parent.relative_to(local).as_posix()) for p in files})
        deadline = time.monotonic() + timeout
        self.check(["mkdir", "-p", *dirs], timeout=timeout, step="put")
        written = []
        for path in files:
            remaining = deadline - time.monotonic()
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
            tail = (result.stderr or result.stdout).strip().splitlines()[-3:]
            raise CommandFailed(
                f"`{result.command}` exited {result.exit_status}: {' | '.join(tail) or '(no output)'}",
                result, device=self.device, step=step)
        return result

    def __enter__(self) -> Transport:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
