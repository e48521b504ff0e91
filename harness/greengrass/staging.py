"""Recipes and artifacts onto a device, in the layout ``greengrass-cli deployment create`` reads.

Artifacts are uploaded once per content: a device-side cache named by SHA-256 (checked with
``sha256sum``, so a truncated copy is sent again) feeds a fresh per-deployment directory by hard
link (copy where links are not possible). A fresh directory per deployment means a broken recipe
of one deployment is never picked up by the next: the nucleus reads every recipe in ``--recipeDir``.
"""

from __future__ import annotations

import re
import shlex
import tempfile
import time
import uuid
from collections.abc import Callable, Iterable
from pathlib import Path

from harness.errors import TransportError
from harness.greengrass import remote
from harness.greengrass.artifacts import Component, StoreEntry, store_entries
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
    """The staging area ``directory`` on one device: ``cache/<sha256>`` and ``deployments/<id>/``."""

    def __init__(self, transport: Transport, directory: str, *, command_timeout: float = 60.0,
                 say: Callable[[str], None] = lambda line: None) -> None:
        if not directory.startswith("/") or "\n" in directory:
            raise ValueError(f"{directory!r} must be an absolute device path")
        self.transport = transport
        self.directory = directory.rstrip("/")
        self.command_timeout = command_timeout
        self._say = say

    def stage(self, components: Iterable[Component], *, timeout: float | None = None) -> tuple[str, str]:
        """Copy recipes and artifacts to a fresh ``recipes``/``artifacts`` pair; returns their device paths."""
        entries = store_entries(components)
        cache = f"{self.directory}/cache"
        base = f"{self.directory}/deployments/{uuid.uuid4().hex}"
        dirs = {cache, f"{base}/recipes", f"{base}/artifacts"} | {f"{base}/{e.relpath.parent}" for e in entries}
        remote.check(self.transport, ["mkdir", "-p", "--", *sorted(dirs)], step="stage components",
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
        links = " && ".join(  # touch: a used cache entry is young again for prune()
            f"{{ touch -c -- {src} && ln -f -- {src} {dst} 2>/dev/null || cp -- {src} {dst}; }}"
            for src, dst in ((shlex.quote(f"{cache}/{e.sha256_hex}"), shlex.quote(f"{base}/{e.relpath}"))
                             for e in artifacts))
        if links:
            remote.check(self.transport, ["sh", "-c", links], step="stage artifacts",
                         timeout=max(self.command_timeout, _HASH_TIMEOUT))
        self._say(f"staged {len(entries) - len(artifacts)} recipe(s), {len(artifacts)} artifact(s) "
                  f"({sent} uploaded, {len(artifacts) - sent} already on the device)")
        return f"{base}/recipes", f"{base}/artifacts"

    def discard(self, recipe_dir: str) -> None:
        """Remove a deployment directory made by ``stage`` (the nucleus has copied what it needs)."""
        base = recipe_dir.rsplit("/", 1)[0]
        if not base.startswith(f"{self.directory}/deployments/") or ".." in base:
            raise ValueError(f"{recipe_dir!r} was not staged here")
        remote.run(self.transport, ["rm", "-rf", "--", base], step="discard staged files",
                   timeout=self.command_timeout)

    def prune(self, older_than_days: int = 14) -> None:
        """Delete cached artifacts unused, and deployment directories left (by timeouts), for that long."""
        if not isinstance(older_than_days, int) or older_than_days < 1:
            raise ValueError("older_than_days must be a whole number of days >= 1")
        age = f"+{older_than_days - 1}"  # find -mtime +N means more than N+1 whole days
        remote.run(self.transport, ["sh", "-c",
                                    f"find {shlex.quote(self.directory + '/cache')} -maxdepth 1 -type f -mtime {age} "
                                    f"-delete; find {shlex.quote(self.directory + '/deployments')} -mindepth 1 "
                                    f"-maxdepth 1 -type d -mtime {age} -exec rm -rf -- {{}} +; true"],
                   step="prune staging", timeout=max(self.command_timeout, _HASH_TIMEOUT))

    def _progress_for(self, name: str) -> Callable[[int, int], None]:
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
        part = f"{cache}/{entry.sha256_hex}.{uuid.uuid4().hex[:8]}.part"  # parallel runs may share a core
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
        remote.check(self.transport, ["mv", "-f", "--", part, f"{cache}/{entry.sha256_hex}"], step="upload artifact",
                     timeout=self.command_timeout)
