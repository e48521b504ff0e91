"""Commands on this machine: for the controller itself and for tests of pure logic on files."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
from pathlib import Path

from harness.errors import CommandTimeout, TransferError
from harness.primitives.exitstatus import from_returncode
from harness.primitives.progress import TransferProgress
from harness.transport.base import DEFAULT_TIMEOUT, Command, CommandResult, Transport, to_shell
from harness.transport.registry import TransportSpec, register


@register("local")
class LocalTransport(Transport):
    """``local://``: the controller itself, a process group per command."""

    @classmethod
    def from_spec(cls, spec: TransportSpec) -> LocalTransport:
        return cls(spec.device)

    def run(self, command: Command, *, timeout: float = DEFAULT_TIMEOUT, stdin: bytes | None = None,
            env: dict[str, str] | None = None) -> CommandResult:
        line = to_shell(command)
        proc = subprocess.Popen(
            ["/bin/sh", "-c", line], stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
            env={**os.environ, **(env or {})}, start_new_session=True)
        try:
            out, err = proc.communicate(stdin, timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.communicate()
            raise CommandTimeout(f"`{line}` still running after {timeout:g} s; killed",
                                 device=self.device, step="exec") from None
        return CommandResult(line, from_returncode(proc.returncode),
                             out.decode(errors="replace"), err.decode(errors="replace"))

    def _copy(self, src: Path, dst: Path, step: str, progress: TransferProgress | None) -> None:
        try:
            dst.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(src, dst)
        except OSError as exc:
            raise TransferError(f"{src} -> {dst}: {exc.strerror or exc}", device=self.device, step=step) from exc
        if progress:
            size = dst.stat().st_size
            progress(size, size)

    def put(self, local: Path, remote: str, *, timeout: float = DEFAULT_TIMEOUT,
            progress: TransferProgress | None = None) -> None:
        self._copy(Path(local), Path(remote), "put", progress)

    def get(self, remote: str, local: Path, *, timeout: float = DEFAULT_TIMEOUT,
            progress: TransferProgress | None = None) -> None:
        self._copy(Path(remote), Path(local), "get", progress)
