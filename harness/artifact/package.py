"""An artifact directory as an object: open (validated), and write files atomically into it."""

from __future__ import annotations

import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

from harness.artifact.meta import META_NAME, SO_NAME, ArtifactMeta, load_meta


@dataclass(frozen=True)
class Artifact:
    """compiled.so + compiled.meta in ``directory`` (what `hil compile` returns)."""

    directory: Path
    meta: ArtifactMeta

    @property
    def library(self) -> Path:
        return self.directory / SO_NAME

    @property
    def meta_path(self) -> Path:
        return self.directory / META_NAME

    @classmethod
    def open(cls, directory: Path) -> Artifact:
        return cls(Path(directory), load_meta(Path(directory)))


def place_file(src: Path, dst: Path) -> None:
    """Copy ``src`` to ``dst`` through a temporary name in the same directory, so readers never see half a file."""
    fd, tmp = tempfile.mkstemp(dir=dst.parent, prefix=f".{dst.name}.")
    os.close(fd)
    try:
        shutil.copyfile(src, tmp)
        os.chmod(tmp, 0o644)
        os.replace(tmp, dst)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def place_text(text: str, dst: Path) -> None:
    fd, tmp = tempfile.mkstemp(dir=dst.parent, prefix=f".{dst.name}.")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
        os.chmod(tmp, 0o644)
        os.replace(tmp, dst)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
