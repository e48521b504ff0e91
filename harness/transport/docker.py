"""Devices that are containers, through the Docker engine: exec for commands, archives for files.

The SDK's own exec readers wait without a bound, so the exec stream is read here from the raw
socket with a deadline. Commands run as the device's login user, as over SSH.
"""

from __future__ import annotations

import os
import socket
import struct
import tarfile
import tempfile
from pathlib import Path, PurePosixPath

import docker
from docker.errors import APIError, DockerException, NotFound

from harness.errors import CommandTimeout, DeviceUnreachable, TransferError
from harness.primitives.deadline import Timeout, poll_until
from harness.primitives.progress import TransferProgress
from harness.transport.base import DEFAULT_TIMEOUT, Command, CommandResult, Transport, bounded, to_shell
from harness.transport.registry import TransportSpec, register

_STDOUT, _STDERR = 1, 2


def demux(stream: bytes) -> tuple[bytes, bytes]:
    """Split Docker's multiplexed exec stream (8-byte frame headers) into stdout and stderr."""
    out, err = bytearray(), bytearray()
    pos = 0
    while pos + 8 <= len(stream):
        kind, size = struct.unpack(">BxxxL", stream[pos:pos + 8])
        chunk = stream[pos + 8:pos + 8 + size]
        (err if kind == _STDERR else out).extend(chunk)
        pos += 8 + size
    return bytes(out), bytes(err)


@register("docker")
class DockerTransport(Transport):
    """``docker://[user@]container[?docker_host=URL]``: exec and archives through the engine."""

    def __init__(self, device: str, container: str, *, user: str | None = None,
                 base_url: str | None = None) -> None:
        super().__init__(device)
        self.container = container
        self.user = user
        self.base_url = base_url
        self._client: docker.DockerClient | None = None
        self._owner: tuple[int, int] | None = None

    @classmethod
    def from_spec(cls, spec: TransportSpec) -> DockerTransport:
        return cls(spec.device, spec.hostspec.host, user=spec.hostspec.user, base_url=spec.option("docker_host"))

    def __repr__(self) -> str:
        return f"DockerTransport({self.device!r}, {self.container!r})"

    def _api(self, timeout: float) -> docker.APIClient:
        if self._client is None:
            try:
                self._client = (docker.DockerClient(base_url=self.base_url) if self.base_url
                                else docker.from_env())
            except DockerException as exc:
                raise DeviceUnreachable(f"no Docker engine: {exc}", device=self.device, step="connect") from None
        self._client.api.timeout = timeout
        return self._client.api

    def close(self) -> None:
        if self._client is not None:
            self._client.close()
            self._client = None

    def _unreachable(self, step: str, exc: Exception) -> DeviceUnreachable:
        if isinstance(exc, NotFound):
            detail = f"container {self.container!r} does not exist"
        elif isinstance(exc, APIError) and "is not running" in str(exc):
            detail = f"container {self.container!r} is not running"
        else:
            detail = f"Docker engine error: {exc}"
        return DeviceUnreachable(detail, device=self.device, step=step,
                                 advice="bring the lab up: `hil lab up`; see `hil lab status`")

    def run(self, command: Command, *, timeout: float = DEFAULT_TIMEOUT, stdin: bytes | None = None,
            env: dict[str, str] | None = None) -> CommandResult:
        line = to_shell(command)
        deadline = Timeout(timeout)
        try:
            api = self._api(timeout + 5)
            exec_id = api.exec_create(self.container, ["sh", "-c", bounded(line, timeout, env)],
                                      stdin=stdin is not None, user=self.user or "")["Id"]
            sock = api.exec_start(exec_id, socket=True)
        except (DockerException, OSError) as exc:
            raise self._unreachable("exec", exc) from None
        raw: socket.socket = getattr(sock, "_sock", sock)
        buf = bytearray()
        try:
            if stdin is not None:
                raw.sendall(stdin)
                raw.shutdown(socket.SHUT_WR)
            while True:
                remaining = deadline.remaining
                if remaining <= 0:
                    raise TimeoutError
                raw.settimeout(remaining)
                chunk = raw.recv(65536)
                if not chunk:
                    break
                buf += chunk
        except TimeoutError:
            raise CommandTimeout(f"`{line}` still running after {timeout:g} s; killed", device=self.device,
                                 step="exec") from None
        finally:
            sock.close()
        # The stream ends a moment before the engine records the exit code.
        def exit_code() -> int | None:
            info = api.exec_inspect(exec_id)
            return None if info.get("Running") else info.get("ExitCode")

        status = poll_until(exit_code, deadline.remaining + 5, interval=0.01)
        out, err = demux(bytes(buf))
        return CommandResult(line, status if status is not None else 255, out.decode(errors="replace"),
                             err.decode(errors="replace"))

    def _owner_ids(self, timeout: float) -> tuple[int, int]:
        if self._owner is None:
            ids = self.check("echo $(id -u) $(id -g)", timeout=timeout, step="put").stdout.split()
            self._owner = (int(ids[0]), int(ids[1]))
        return self._owner

    def put(self, local: Path, remote: str, *, timeout: float = DEFAULT_TIMEOUT,
            progress: TransferProgress | None = None) -> None:
        local = Path(local)
        target = PurePosixPath(remote)
        uid, gid = self._owner_ids(timeout)
        size = local.stat().st_size
        with tempfile.TemporaryFile() as archive:
            with tarfile.open(fileobj=archive, mode="w") as tar:
                info = tar.gettarinfo(os.fspath(local), arcname=target.name)
                info.uid, info.gid, info.uname, info.gname = uid, gid, "", ""
                with open(local, "rb") as fh:
                    tar.addfile(info, fh)
            archive.seek(0)
            try:
                ok = self._api(timeout).put_archive(self.container, str(target.parent), archive)
            except NotFound as exc:
                raise TransferError(f"put {local} -> {remote}: {exc.explanation or exc}", device=self.device,
                                    step="put") from None
            except (DockerException, OSError) as exc:
                raise self._unreachable("put", exc) from None
        if not ok:
            raise TransferError(f"put {local} -> {remote} refused by the engine", device=self.device, step="put")
        if progress:
            progress(size, size)

    def get(self, remote: str, local: Path, *, timeout: float = DEFAULT_TIMEOUT,
            progress: TransferProgress | None = None) -> None:
        local = Path(local)
        try:
            stream, stat = self._api(timeout).get_archive(self.container, remote)
            with tempfile.TemporaryFile() as archive:
                for chunk in stream:
                    archive.write(chunk)
                archive.seek(0)
                with tarfile.open(fileobj=archive, mode="r") as tar:
                    member = tar.next()
                    if member is None or not member.isfile():
                        raise TransferError(f"get {remote}: not a regular file", device=self.device, step="get")
                    local.parent.mkdir(parents=True, exist_ok=True)
                    with tar.extractfile(member) as src, open(local, "wb") as dst:
                        while data := src.read(1 << 20):
                            dst.write(data)
        except NotFound:
            raise TransferError(f"get {remote}: no such file on the device", device=self.device,
                                step="get") from None
        except (DockerException, OSError, tarfile.TarError) as exc:
            if isinstance(exc, TransferError):
                raise
            raise self._unreachable("get", exc) from None
        if progress:
            progress(stat["size"], stat["size"])

