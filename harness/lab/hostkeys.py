"""The lab's own SSH identity and the cores' pinned host keys.

Each lab has one ed25519 key pair (its public half is authorised on every emulated core) and one
known_hosts file. A core's host key is read over the engine, a channel the network cannot
tamper with, and pinned for where its sshd answers (``10.213.7.2``, or ``[127.0.0.1]:49153`` for a
published port) before anything connects over SSH.
"""

from __future__ import annotations

from pathlib import Path

from harness.errors import FailureClass
from harness.primitives.hostcmd import run_controller

KEYGEN_TIMEOUT = 30.0


class LabKeys:
    """``id_ed25519`` and ``known_hosts`` in a lab's state directory."""

    def __init__(self, home: Path, lab_name: str) -> None:
        self.lab_name = lab_name
        self.key_file = home / "id_ed25519"
        self.known_hosts = home / "known_hosts"

    def public_key(self) -> str:
        """The lab's public key, the pair generated on first use."""
        if not self.key_file.exists():
            run_controller(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", f"hil-{self.lab_name}",
                            "-f", str(self.key_file)], KEYGEN_TIMEOUT, step="lab key",
                           failure_class=FailureClass.HOST_SETUP, advice="ssh-keygen comes with openssh-client")
        return self.key_file.with_suffix(".pub").read_text().strip()

    def _lines(self) -> list[str]:
        return self.known_hosts.read_text().splitlines() if self.known_hosts.exists() else []

    def pinned(self, address: str) -> str | None:
        """The key pinned for ``address`` (a known_hosts host name), as ``type base64``, or None."""
        for line in self._lines():
            host, _, key = line.partition(" ")
            if host == address:
                return key
        return None

    def pin(self, address: str, key: str) -> None:
        """Pin ``key`` for ``address``, replacing what was pinned for it (a recreated core has a new key)."""
        lines = [ln for ln in self._lines() if ln.split(" ", 1)[0] != address]
        lines.append(f"{address} {key}")
        tmp = self.known_hosts.with_suffix(".tmp")
        tmp.write_text("\n".join(lines) + "\n")
        tmp.replace(self.known_hosts)
