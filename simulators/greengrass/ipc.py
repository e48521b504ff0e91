"""The CLI ↔ nucleus wire: one JSON request line and one JSON reply line over the unix socket.

Import-light on purpose: greengrass-cli loads only this, json and socket.
"""

from __future__ import annotations

import json
import socket
from pathlib import Path
from typing import Any

MAX_MESSAGE = 4 << 20
SOCKET_NAME = "ipc.socket"


class IpcFailure(Exception):
    """The nucleus could not be reached (``error_type`` None), or it answered with an error of that IPC type
    (ResourceNotFoundError, InvalidArgumentsError, ServiceError: the Greengrass IPC model's error shapes)."""

    def __init__(self, message: str, error_type: str | None = None) -> None:
        super().__init__(message)
        self.error_type = error_type


def read_line(sock: socket.socket) -> bytes:
    buf = bytearray()
    while not buf.endswith(b"\n"):
        chunk = sock.recv(65536)
        if not chunk:
            break
        buf += chunk
        if len(buf) > MAX_MESSAGE:
            raise IpcFailure("message too large")
    return bytes(buf)


def call(root: Path, op: str, args: dict[str, Any] | None = None, timeout: float = 30.0) -> Any:
    path = root / SOCKET_NAME
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
            sock.settimeout(timeout)
            sock.connect(str(path))
            sock.sendall(json.dumps({"op": op, "args": args or {}}).encode() + b"\n")
            raw = read_line(sock)
    except (OSError, TimeoutError) as exc:
        raise IpcFailure(f"Could not connect to the Greengrass nucleus at {path}: {exc.strerror or exc}. "
                         f"Is the nucleus running?") from None
    try:
        reply = json.loads(raw)
    except ValueError:
        raise IpcFailure("The Greengrass nucleus closed the connection without a reply") from None
    if not reply.get("ok"):
        raise IpcFailure(reply.get("error", "unknown error"), reply.get("type") or "ServiceError")
    return reply.get("result")
