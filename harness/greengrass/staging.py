"""Recipes and artifacts onto a device, in the layout ``greengrass-cli deployment create`` reads.

Everything goes into one private scratch directory per client (``mktemp -d`` under umask 077,
removed at ``close``): a fixed, guessable path could be pre-created by another user of a shared
board, who could then swap an artifact before the root-run nucleus copies it. Artifacts are
uploaded once per content: a cache named by SHA-256 (checked with ``sha256sum``, so a truncated
copy is sent again) feeds a fresh per-deployment directory by hard link (copy where links are not
possible). A fresh directory per deployment means a broken recipe of one deployment is never
picked up by the next: the nucleus reads every recipe in ``--recipeDir``.
"""

from __future__ import annotations

import re
import shlex
import tempfile
import time
import uuid
from collections.abc import Iterable
from pathlib import Path

from harness.errors import TransportError
from harness.greengrass import remote
from harness.greengrass.artifacts import Component, StoreEntry, store_entries
from harness.primitives.progress import Say, TransferProgress, quiet
from harness.primitives.scratch import make_scratch, remove_scratch
from harness.transport.base import Transport

_HEX_RE = re.compile(r"[0-9a-f]{64}")
#: sha256sum of a large model on a slow board takes a while.
_HASH_TIMEOUT = 120.0
_PROGRESS_EVERY = 5.0


def sha256sum_lines(text: str) -> list[tuple[str, str]]:
    """(hex digest, path) pairs from ``sha256sum`` output; lines it could not hash are left out."""
    out = []
    for line in text.splitlines():
        digest, sep, path = line.partition("  ")
        if sep and _HEX_RE.fullmatch(digest):
            out.append((digest, path))
    return out


class Staging:
    """The staging area on one device: a private scratch directory with ``cache/<sha256>`` and
    ``deployments/<id>/``, made on first use under ``parent``."""

    def __init__(self, transport: Transport, parent: str = "/var/tmp", *, command_timeout: float = 60.0,
                 say: Say = quiet) -> None:
        if not parent.startswith("/") or "\n" in parent:
            raise ValueError(f"{parent!r} must be an absolute device path")
        self.transport = transport
        self.parent = parent.rstrip("/") or "/"
        self.command_timeout = command_timeout
        self._say = say
        self._directory: str | None = None

    @property
    def directory(self) -> str | None:
        """The scratch directory, or None before the first ``stage`` (and after ``close``)."""
        return self._directory

    def _area(self) -> str:
        if self._directory is None:
            self._directory = make_scratch(self.transport, "greengrass", parent=self.parent)
        return self._directory

    def close(self) -> None:
        """Remove the scratch directory and everything staged in it."""
        if self._directory is not None:
            remove_scratch(self.transport, self._directory)
            self._directory = None

    def stage(self, components: Iterable[Component], *, timeout: float | None = None) -> tuple[str, str]:
        """Copy recipes and artifacts to a fresh ``recipes``/``artifacts`` pair; returns their device paths."""
        entries = store_entries(components)
        area = self._area()
        cache = f"{area}/cache"
        base = f"{area}/deployments/{uuid.uuid4().hex}"
        dirs = {cache, f"{base}/recipes", f"{base}/artifacts"} | {f"{base}/{e.relpath.parent}" for e in entries}
        self.transport.check(["mkdir", "-p", "--", *sorted(dirs)], step="stage components",
                             timeout=self.command_timeout)
        artifacts = [e for e in entries if e.local is not None]
        have = self._cached({e.sha256_hex for e in artifacts}, cache)
        sent = 0
        for entry in artifacts:
            if entry.sha256_hex not in have:
                self._upload_to_cache(entry, cache, timeout)
                have.add(entry.sha256_hex)
                sent += 1
        with tempfile.TemporaryDirectory(prefix="hil-gg-") as tmp:
            for entry in entries:
                if entry.data is not None:
                    local = Path(tmp) / entry.relpath.name
                    local.write_bytes(entry.data)
                    remote.put(self.transport, local, f"{base}/{entry.relpath}", step="stage recipes",
                               timeout=timeout, floor=self.command_timeout)
        links = " && ".join(
            f"{{ ln -f -- {src} {dst} 2>/dev/null || cp -- {src} {dst}; }}"
            for src, dst in ((shlex.quote(f"{cache}/{e.sha256_hex}"), shlex.quote(f"{base}/{e.relpath}"))
                             for e in artifacts))
        if links:
            self.transport.check(["sh", "-c", links], step="stage artifacts",
                                 timeout=max(self.command_timeout, _HASH_TIMEOUT))
        self._say(f"staged {len(entries) - len(artifacts)} recipe(s), {len(artifacts)} artifact(s) "
                  f"({sent} uploaded, {len(artifacts) - sent} already on the device)")
        return f"{base}/recipes", f"{base}/artifacts"

    def discard(self, recipe_dir: str) -> None:
        """Remove a deployment directory made by ``stage`` (the nucleus has copied what it needs)."""
        base = recipe_dir.rsplit("/", 1)[0]
        if self._directory is None or not base.startswith(f"{self._directory}/deployments/") or ".." in base:
            raise ValueError(f"{recipe_dir!r} was not staged here")
        remote.run(self.transport, ["rm", "-rf", "--", base], step="discard staged files",
                   timeout=self.command_timeout)

    def _progress_for(self, name: str) -> TransferProgress:
        """A transfer callback that reports at most every few seconds (large models over slow links)."""
        last = [time.monotonic()]

        def report(done: int, total: int) -> None:
            now = time.monotonic()
            if now - last[0] >= _PROGRESS_EVERY and total:
                last[0] = now
                self._say(f"uploading {name}: {done * 100 // total}% of {total / 1e6:.1f} MB")
        return report

    def _cached(self, hexes: set[str], cache: str) -> set[str]:
        """Which of these digests the device cache holds intact."""
        if not hexes:
            return set()
        files = [f"{cache}/{h}" for h in sorted(hexes)]
        result = remote.run(self.transport, ["sha256sum", "--", *files], step="check device artifacts",
                            timeout=max(self.command_timeout, _HASH_TIMEOUT))
        return {h for h, path in sha256sum_lines(result.stdout) if path == f"{cache}/{h}"}

    def _upload_to_cache(self, entry: StoreEntry, cache: str, timeout: float | None) -> None:
        assert entry.local is not None
        part = f"{cache}/{entry.sha256_hex}.part"
        remote.put(self.transport, entry.local, part, step="upload artifact", timeout=timeout,
                   floor=self.command_timeout, progress=self._progress_for(entry.relpath.name))
        result = remote.run(self.transport, ["sha256sum", "--", part], step="verify artifact",
                            timeout=max(self.command_timeout, _HASH_TIMEOUT))
        got = {path: digest for digest, path in sha256sum_lines(result.stdout)}.get(part)
        if got != entry.sha256_hex:
            remote.run(self.transport, ["rm", "-f", "--", part], step="verify artifact", timeout=self.command_timeout)
            raise TransportError(f"{entry.relpath}: uploaded copy has SHA-256 {got or '(none)'}, expected "
                                 f"{entry.sha256_hex}", device=self.transport.device, step="verify artifact",
                                 advice="the transfer was corrupted or the device disk is full; retry")
        self.transport.check(["mv", "-f", "--", part, f"{cache}/{entry.sha256_hex}"], step="upload artifact",
                             timeout=self.command_timeout)
