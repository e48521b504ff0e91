"""Content-addressed compile cache: the same request never compiles twice.

Key: sha256 over model bytes' digest, framework, bound inputs, target, compiler and linker
versions and options. Entries are directories built under a temporary name, fsynced, and renamed
into place, so concurrent compiles of the same key are safe (the loser discards its copy) and a crash
never publishes an entry whose files are not on disk. A temporary directory a SIGKILL left behind is
swept on a later use once it is older than any compile takes.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from harness.artifact.meta import META_NAME, SO_NAME
from harness.artifact.publish import fsync_path
from harness.lab.paths import state_dir
from harness.primitives.digest import stable_key

ENV_VAR = "HIL_COMPILE_CACHE"
#: A temporary entry untouched this long is an abandoned one (a compile takes minutes; Neo's own cap is 15).
STALE_AFTER_S = 6 * 3600.0
_TMP_GLOB = "*/.*-*"


def default_cache_dir() -> Path:
    """``$HIL_COMPILE_CACHE``, else ``compile/`` under the lab state directory (``$HIL_STATE_DIR``)."""
    return Path(os.environ.get(ENV_VAR) or state_dir() / "compile")


def cache_key(parts: dict[str, object]) -> str:
    """The entry's name: the stable key of everything the compiled code depends on."""
    return stable_key(parts)


class CompileCache:
    def __init__(self, root: Path) -> None:
        self.root = Path(root)

    def entry(self, key: str) -> Path:
        return self.root / key[:2] / key

    def sweep(self, older_than: float = STALE_AFTER_S) -> list[Path]:
        """Remove temporary entries not modified for ``older_than`` seconds; returns what went."""
        now, gone = time.time(), []
        for tmp in self.root.glob(_TMP_GLOB):
            try:
                if tmp.is_dir() and not tmp.is_symlink() and now - tmp.stat().st_mtime > older_than:
                    shutil.rmtree(tmp, ignore_errors=True)
                    gone.append(tmp)
            except FileNotFoundError:  # another process swept or published it
                continue
        return gone

    def lookup(self, key: str) -> Path | None:
        """The entry directory when complete (both files present), else None."""
        self.sweep()
        path = self.entry(key)
        return path if (path / SO_NAME).is_file() and (path / META_NAME).is_file() else None

    def fill(self, key: str, produce: Callable[[Path], None]) -> Path:
        """Run ``produce(tmpdir)`` to write the entry's files, then publish it atomically."""
        final = self.entry(key)
        final.parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(dir=final.parent, prefix=f".{key[:12]}-"))
        try:
            produce(tmp)
            for f in tmp.iterdir():
                fsync_path(f)
            fsync_path(tmp)
            if final.exists() and self.lookup(key) is None:
                shutil.rmtree(final, ignore_errors=True)  # a damaged entry: replace it
            try:
                os.rename(tmp, final)
            except OSError:  # another process published the same key first
                if self.lookup(key) is None:
                    raise
                shutil.rmtree(tmp, ignore_errors=True)
            fsync_path(final.parent)
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
        return final
