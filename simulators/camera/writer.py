"""Atomic frame files in a bounded ring."""

from __future__ import annotations

import os
import re
from pathlib import Path

import cv2
import numpy as np

FRAME_RE = re.compile(r"frame-(\d{6,})\.(png|jpg)")


class FrameWriter:
    """Writes ``frame-NNNNNN.<ext>`` into ``directory`` via temp + rename, keeping at most ``ring`` frames."""

    def __init__(self, directory: Path, ring: int, ext: str = "png") -> None:
        if ring < 1:
            raise ValueError("--ring must be at least 1")
        if ext not in ("png", "jpg"):
            raise ValueError(f"frame format {ext!r} must be png or jpg")
        self.directory, self.ring, self.ext = Path(directory), ring, ext
        self.directory.mkdir(parents=True, exist_ok=True)
        existing = self.frames()
        self.next_index = int(FRAME_RE.fullmatch(existing[-1].name).group(1)) + 1 if existing else 1

    def frames(self) -> list[Path]:
        """The complete frames in the directory, oldest first."""
        found = [p for p in self.directory.iterdir() if FRAME_RE.fullmatch(p.name)]
        return sorted(found, key=lambda p: int(FRAME_RE.fullmatch(p.name).group(1)))

    def write(self, frame: np.ndarray) -> Path:
        ok, encoded = cv2.imencode(f".{self.ext}", frame)
        if not ok:
            raise ValueError("OpenCV could not encode the frame")
        final = self.directory / f"frame-{self.next_index:06d}.{self.ext}"
        tmp = self.directory / f".{final.name}.tmp"
        with open(tmp, "wb") as out:
            out.write(encoded.tobytes())
            out.flush()
            os.fsync(out.fileno())
        os.chmod(tmp, 0o644)  # the inference component runs as another user (ggc_user)
        tmp.replace(final)
        self.next_index += 1
        for old in self.frames()[:-self.ring]:
            old.unlink(missing_ok=True)
        return final
