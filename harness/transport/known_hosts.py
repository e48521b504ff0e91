"""Trust on first use for an OpenSSH known_hosts file, without ever rewriting what the user wrote.

paramiko's AutoAddPolicy saves a new key only when a file was loaded (so with no file yet every key is
accepted on every connection and none is saved), and when it saves it rewrites the whole file from its
parsed view: comments, markers (@cert-authority, @revoked) and key types it cannot parse are dropped, in
place, racing with any other writer. Here a new key becomes one appended line: the old bytes are copied
verbatim to a temporary file beside the original, the line added, the copy fsynced and renamed over the
original, all under an fcntl lock so parallel workers (pytest-xdist) that meet the same host agree on one key.
"""

from __future__ import annotations

import fcntl
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import paramiko

from harness.primitives.atomic import write_atomically


def host_key_line(hostname: str, key: paramiko.PKey) -> str:
    """One known_hosts line; ``hostname`` as paramiko names it (``[host]:port`` off port 22)."""
    return f"{hostname} {key.get_name()} {key.get_base64()}\n"


def load(path: Path) -> paramiko.HostKeys:
    """The keys of ``path`` paramiko can use; lines it cannot parse (markers, newer key types) are skipped,
    where ``HostKeys.load`` raises InvalidHostKey on the first one and the connection never starts."""
    keys = paramiko.HostKeys()
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except FileNotFoundError:
        return keys
    for line in text.splitlines():
        if not line.strip() or line.lstrip().startswith(("#", "@")):
            continue
        try:
            entry = paramiko.hostkeys.HostKeyEntry.from_line(line)
        except (paramiko.hostkeys.InvalidHostKey, paramiko.SSHException, ValueError, TypeError):
            continue
        for hostname in entry.hostnames if entry is not None and entry.key is not None else ():
            if hostname.startswith("|1|") and not _hash_decodes(hostname):
                continue  # every lookup would raise on its salt
            keys.add(hostname, entry.key.get_name(), entry.key)  # a hashed name (|1|...) matches as such
    return keys


def _hash_decodes(hashed: str) -> bool:
    try:
        paramiko.HostKeys.hash_host("probe", hashed)
    except (ValueError, TypeError):
        return False
    return True


@contextmanager
def _locked(path: Path) -> Iterator[None]:
    """An exclusive lock on ``path``'s sidecar ``.lock`` file (the file itself is replaced by rename)."""
    lock = path.with_name(path.name + ".lock")
    fd = os.open(lock, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)


def remember(path: Path, hostname: str, key: paramiko.PKey) -> paramiko.PKey | None:
    """Append ``hostname``'s ``key`` to ``path`` unless the file already names that host.

    Returns the key the file already holds for ``hostname`` of the same type (another worker got there
    first), or None when ``key`` was added or is the one already there.
    """
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    with _locked(path):
        try:
            old = path.read_bytes()
            mode = path.stat().st_mode & 0o777
        except FileNotFoundError:
            old, mode = b"", 0o600
        held = (load(path).lookup(hostname) or {}).get(key.get_name())
        if held is not None:
            return None if held == key else held
        if old and not old.endswith(b"\n"):
            old += b"\n"
        write_atomically(path, old + host_key_line(hostname, key).encode(), mode)
    return None


class TrustOnFirstUse(paramiko.MissingHostKeyPolicy):
    """Accept an unknown host's key once and save it, so every later connection verifies it."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def missing_host_key(self, client: paramiko.SSHClient, hostname: str, key: paramiko.PKey) -> None:
        held = remember(self.path, hostname, key)
        if held is not None:
            raise paramiko.BadHostKeyException(hostname, key, held)
        client.get_host_keys().add(hostname, key.get_name(), key)
