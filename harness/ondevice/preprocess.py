"""The one preprocessing of the bundled model, used by the device component and the host reference.

Exactly fixtures/model/make_model.py's documented pipeline: resize to 224×224 (bilinear), BGR→RGB,
/255, (x - ImageNet mean) / std, NCHW float32 with batch 1.
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

SIZE = 224
#: ImageNet statistics, RGB order.
MEAN = np.array([0.485, 0.456, 0.406], dtype=np.float32)
STD = np.array([0.229, 0.224, 0.225], dtype=np.float32)
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp")


class ImageError(ValueError):
    """An image file that is missing or that OpenCV cannot decode."""


def preprocess(bgr: np.ndarray) -> np.ndarray:
    """An HxWx3 uint8 BGR image (OpenCV's order) -> the model input [1, 3, 224, 224] float32."""
    if bgr.ndim != 3 or bgr.shape[2] != 3 or bgr.dtype != np.uint8:
        raise ImageError(f"expected an HxWx3 uint8 BGR image, got shape {bgr.shape} {bgr.dtype}")
    img = cv2.resize(bgr, (SIZE, SIZE), interpolation=cv2.INTER_LINEAR)
    img = cv2.cvtColor(img, cv2.COLOR_BGR2RGB).astype(np.float32) / 255.0
    img = (img - MEAN) / STD
    return np.ascontiguousarray(img.transpose(2, 0, 1)[None], dtype=np.float32)


def load_image(path: Path) -> np.ndarray:
    """Read an image file as BGR; a missing or undecodable file is an ImageError naming it."""
    bgr = cv2.imread(str(path), cv2.IMREAD_COLOR)
    if bgr is None:
        reason = "not found" if not Path(path).is_file() else "not a decodable image"
        raise ImageError(f"{path}: {reason}")
    return bgr


def newest_image(directory: Path) -> Path | None:
    """The most recently written complete image in ``directory`` (writers rename dot-temp files into place)."""
    best: tuple[int, str] | None = None
    found = None
    try:
        entries = list(Path(directory).iterdir())
    except OSError:
        return None
    for entry in entries:
        if entry.name.startswith(".") or entry.suffix.lower() not in IMAGE_SUFFIXES:
            continue
        try:
            key = (entry.stat().st_mtime_ns, entry.name)
        except OSError:  # rotated away by the writer meanwhile
            continue
        if best is None or key > best:
            best, found = key, entry
    return found
