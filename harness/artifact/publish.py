"""Write an artifact directory whole: built privately beside ``-o DIR``, then swapped in by rename.

Writing file by file into an existing DIR kept what an earlier compile left (an aarch64 libdlr.so
beside an x86-64 model: DLR loads the model directory's runtime first, and the component zip ships it)
and an interrupt could leave a new compiled.so beside the old compiled.meta. A reader of DIR now sees
the old artifact or the new one. On Linux the swap is one renameat2(RENAME_EXCHANGE); where the file
system lacks it, two renames (DIR is briefly absent, never mixed).
"""

from __future__ import annotations

import ctypes
import os
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path

from harness.artifact.meta import META_NAME, RUNTIME_LIBS, SO_NAME, ArtifactError

#: What an artifact directory may hold: anything else means DIR is not ours to replace.
ARTIFACT_FILES = frozenset((SO_NAME, META_NAME, *RUNTIME_LIBS))
_RENAME_EXCHANGE = 2
_AT_FDCWD = -100


def fsync_path(path: Path) -> None:
    """fsync a file or a directory (a rename is durable once its directory is)."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def check_replaceable(out: Path) -> None:
    """Refuse to replace ``out`` unless it is absent, empty or an artifact directory."""
    if not os.path.lexists(out):
        return
    if out.is_symlink() or not out.is_dir():
        raise ArtifactError(f"{out} exists and is not a directory: refusing to replace it", step="compile",
                            advice="give -o a new directory or an earlier artifact directory")
    foreign = sorted(p.name for p in out.iterdir() if p.name not in ARTIFACT_FILES)
    if foreign:
        raise ArtifactError(f"{out} is not an artifact directory (it holds {', '.join(foreign[:5])}): "
                            "refusing to replace it", step="compile",
                            advice="give -o a new directory or an earlier artifact directory")


def _exchange(a: Path, b: Path) -> bool:
    """Swap two paths atomically; False where the kernel or file system cannot."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        renameat2 = libc.renameat2
    except (OSError, AttributeError):
        return False
    renameat2.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p, ctypes.c_uint]
    return renameat2(_AT_FDCWD, os.fsencode(a), _AT_FDCWD, os.fsencode(b), _RENAME_EXCHANGE) == 0


def publish_dir(out: Path, fill: Callable[[Path], None]) -> None:
    """Run ``fill(tmpdir)`` on a private directory beside ``out``, fsync it, and swap it in as ``out``."""
    out = Path(out)
    check_replaceable(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(dir=out.parent, prefix=f".{out.name}.new-"))
    try:
        fill(tmp)
        for f in tmp.iterdir():
            fsync_path(f)
        tmp.chmod(0o755)
        fsync_path(tmp)
        check_replaceable(out)  # again: it may have changed while we built
        if not out.exists():
            os.rename(tmp, out)
        elif _exchange(tmp, out):
            shutil.rmtree(tmp)  # the old artifact, now under the temporary name
        else:
            old = Path(tempfile.mkdtemp(dir=out.parent, prefix=f".{out.name}.old-"))
            os.rename(out, old / "a")
            os.rename(tmp, out)
            shutil.rmtree(old)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    fsync_path(out.parent)
