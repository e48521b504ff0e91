"""Frame sources: synthetic scenes drawn with OpenCV, or a video file."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import cv2
import numpy as np

SIZE = 256


class SceneError(ValueError):
    """A scene that cannot produce frames (unknown name, unreadable video)."""


def shape_frame(index: int) -> np.ndarray:
    """Frame ``index`` of the ``shapes`` scene: a circle, a square or stripes with text, in turn, drifting
    a few pixels per frame so consecutive frames differ (as a real camera's would)."""
    shift = (index * 7) % 24 - 12
    kind = index % 3
    if kind == 0:
        img = np.full((SIZE, SIZE, 3), (235, 235, 235), np.uint8)
        cv2.circle(img, (128 + shift, 128), 80, (40, 40, 220), -1)
    elif kind == 1:
        img = np.full((SIZE, SIZE, 3), (30, 30, 30), np.uint8)
        cv2.rectangle(img, (48 + shift, 64), (208 + shift, 192), (60, 200, 60), -1)
    else:
        img = np.zeros((SIZE, SIZE, 3), np.uint8)
        for i in range(0, SIZE, 32):
            cv2.line(img, (i + shift, 0), (255 - i + shift, 255), (220, 120, 20), 6)
        cv2.putText(img, "HIL", (60 + shift, 150), cv2.FONT_HERSHEY_SIMPLEX, 2.5, (255, 255, 255), 6)
    return img


def shapes() -> Iterator[np.ndarray]:
    index = 0
    while True:
        yield shape_frame(index)
        index += 1


def video(path: Path) -> Iterator[np.ndarray]:
    """Frames of a video file, looped forever."""
    capture = cv2.VideoCapture(str(path))
    if not capture.isOpened():
        raise SceneError(f"{path}: OpenCV cannot open this video")
    ok, frame = capture.read()
    if not ok:
        raise SceneError(f"{path}: the video has no readable frame")
    try:
        while True:
            yield frame
            ok, frame = capture.read()
            if not ok:
                capture.set(cv2.CAP_PROP_POS_FRAMES, 0)
                ok, frame = capture.read()
                if not ok:
                    raise SceneError(f"{path}: cannot rewind the video")
    finally:
        capture.release()


def source(scene: str, video_path: Path | None = None) -> Iterator[np.ndarray]:
    if scene == "shapes":
        return shapes()
    if scene == "video":
        if video_path is None:
            raise SceneError("--scene video needs --video FILE")
        return video(video_path)
    raise SceneError(f"unknown scene {scene!r} (shapes, video)")
