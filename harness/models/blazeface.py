"""MediaPipe BlazeFace short-range face detection decoded on the host, as MediaPipe's graph does.

The model (``face_detection_short_range.tflite``) maps one 128x128 RGB image in [-1, 1] to 896
anchor-relative box regressions ``regressors`` [1, 896, 16] and logits ``classificators``
[1, 896, 1]. The steps and options follow MediaPipe (google-ai-edge/mediapipe):

- ``mediapipe/modules/face_detection/face_detection_short_range.pbtxt`` (and ``face_detection.pbtxt``):
  the graph and every option below;
- ``mediapipe/calculators/tensor/image_to_tensor_calculator.cc``: letterbox (keep aspect ratio) to
  128x128, values in [-1, 1];
- ``mediapipe/calculators/tflite/ssd_anchors_calculator.cc``: SSD anchors, 4 layers with strides
  8, 16, 16, 16, anchor offset 0.5, one aspect ratio plus one interpolated scale per layer (2 anchors per
  cell), layers of equal stride sharing one grid (16x16x2 + 8x8x6 = 896), fixed anchor size;
- ``mediapipe/calculators/tensor/tensors_to_detections_calculator.cc``: boxes as (x, y, w, h) centre
  offsets divided by 128 plus 6 keypoints, logits clipped to +-100 then a sigmoid, threshold 0.5;
- ``mediapipe/calculators/util/non_max_suppression_calculator.cc``: weighted NMS, IoU above 0.3 merges;
- ``mediapipe/calculators/util/detection_letterbox_removal_calculator.cc``: back to image coordinates.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

INPUT_SIZE = 128
STRIDES = (8, 16, 16, 16)
ANCHOR_OFFSET = 0.5
ANCHORS_PER_LAYER = 2  # aspect ratio 1.0 plus the interpolated scale
NUM_ANCHORS = 896
NUM_COORDS = 16
NUM_KEYPOINTS = 6
SCALE = 128.0
SCORE_CLIPPING = 100.0
MIN_SCORE = 0.5
MIN_SUPPRESSION = 0.3
KEYPOINTS = ("right_eye", "left_eye", "nose_tip", "mouth_center", "right_ear_tragion", "left_ear_tragion")


@dataclass(frozen=True)
class Letterbox:
    """Padding as fractions of the 128x128 input (left, top, right, bottom), to undo after detection."""

    left: float
    top: float
    right: float
    bottom: float


@dataclass(frozen=True)
class Detection:
    """One face, normalized to the image (0..1): box corners, score, keypoints in KEYPOINTS order."""

    xmin: float
    ymin: float
    xmax: float
    ymax: float
    score: float
    keypoints: tuple[tuple[float, float], ...]

    def box_pixels(self, width: int, height: int) -> tuple[int, int, int, int]:
        return (round(self.xmin * width), round(self.ymin * height), round(self.xmax * width),
                round(self.ymax * height))


def ssd_anchors() -> np.ndarray:
    """Anchor centres [896, 2] (x, y), normalized; every anchor's width and height is 1 (fixed size)."""
    centres = []
    layer = 0
    while layer < len(STRIDES):
        stride = STRIDES[layer]
        same = 0
        while layer + same < len(STRIDES) and STRIDES[layer + same] == stride:
            same += 1
        size = int(np.ceil(INPUT_SIZE / stride))
        for y in range(size):
            for x in range(size):
                centres += [((x + ANCHOR_OFFSET) / size, (y + ANCHOR_OFFSET) / size)] * (ANCHORS_PER_LAYER * same)
        layer += same
    anchors = np.array(centres, dtype=np.float32)
    assert anchors.shape == (NUM_ANCHORS, 2)
    return anchors


def preprocess(bgr: np.ndarray) -> tuple[np.ndarray, Letterbox]:
    """A BGR photograph (OpenCV's order) as the model's input [1, 128, 128, 3] float32 in [-1, 1], letterboxed."""
    import cv2

    h, w = bgr.shape[:2]
    scale = min(INPUT_SIZE / w, INPUT_SIZE / h)
    nw, nh = max(1, round(w * scale)), max(1, round(h * scale))
    resized = cv2.resize(bgr, (nw, nh), interpolation=cv2.INTER_AREA)
    left, top = (INPUT_SIZE - nw) // 2, (INPUT_SIZE - nh) // 2
    canvas = np.zeros((INPUT_SIZE, INPUT_SIZE, 3), dtype=np.uint8)
    canvas[top:top + nh, left:left + nw] = cv2.cvtColor(resized, cv2.COLOR_BGR2RGB)
    tensor = canvas.astype(np.float32) / np.float32(127.5) - np.float32(1.0)
    box = Letterbox(left / INPUT_SIZE, top / INPUT_SIZE, (INPUT_SIZE - nw - left) / INPUT_SIZE,
                    (INPUT_SIZE - nh - top) / INPUT_SIZE)
    return tensor[None], box


def split_outputs(outputs: Mapping[str, np.ndarray] | Sequence[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """(regressors [896, 16], logits [896]) from the model's outputs, by name or else by shape."""
    values = list(outputs.values()) if isinstance(outputs, Mapping) else list(outputs)
    if isinstance(outputs, Mapping) and {"regressors", "classificators"} <= set(outputs):
        values = [outputs["regressors"], outputs["classificators"]]
    boxes = [np.asarray(v) for v in values if np.asarray(v).shape[-1:] == (NUM_COORDS,)]
    scores = [np.asarray(v) for v in values if np.asarray(v).shape[-1:] == (1,)]
    if len(boxes) != 1 or len(scores) != 1:
        raise ValueError(f"expected one [1,{NUM_ANCHORS},{NUM_COORDS}] and one [1,{NUM_ANCHORS},1] output, got "
                         f"{[list(np.asarray(v).shape) for v in values]}")
    return boxes[0].reshape(NUM_ANCHORS, NUM_COORDS), scores[0].reshape(NUM_ANCHORS)


def decode(regressors: np.ndarray, logits: np.ndarray, *, min_score: float = MIN_SCORE) -> list[Detection]:
    """Detections above ``min_score`` in the 128x128 input frame (normalized), highest score first, before NMS."""
    anchors = ssd_anchors()
    raw = regressors.astype(np.float64).reshape(NUM_ANCHORS, NUM_COORDS)
    scores = 1.0 / (1.0 + np.exp(-np.clip(logits.astype(np.float64).reshape(NUM_ANCHORS), -SCORE_CLIPPING,
                                          SCORE_CLIPPING)))
    cx = raw[:, 0] / SCALE + anchors[:, 0]
    cy = raw[:, 1] / SCALE + anchors[:, 1]
    w, h = raw[:, 2] / SCALE, raw[:, 3] / SCALE
    kx = raw[:, 4::2] / SCALE + anchors[:, :1]
    ky = raw[:, 5::2] / SCALE + anchors[:, 1:]
    found = []
    for i in np.argsort(-scores, kind="stable"):
        if scores[i] < min_score:
            break
        if w[i] <= 0 or h[i] <= 0:
            continue
        found.append(Detection(float(cx[i] - w[i] / 2), float(cy[i] - h[i] / 2), float(cx[i] + w[i] / 2),
                               float(cy[i] + h[i] / 2), float(scores[i]),
                               tuple((float(x), float(y)) for x, y in zip(kx[i], ky[i], strict=True))))
    return found


def iou(a: Detection, b: Detection) -> float:
    ix = max(0.0, min(a.xmax, b.xmax) - max(a.xmin, b.xmin))
    iy = max(0.0, min(a.ymax, b.ymax) - max(a.ymin, b.ymin))
    inter = ix * iy
    union = (a.xmax - a.xmin) * (a.ymax - a.ymin) + (b.xmax - b.xmin) * (b.ymax - b.ymin) - inter
    return inter / union if union > 0 else 0.0


def weighted_nms(detections: Sequence[Detection], min_suppression: float = MIN_SUPPRESSION) -> list[Detection]:
    """MediaPipe's WEIGHTED algorithm: each best remaining detection absorbs those overlapping it by more than
    ``min_suppression`` IoU; the merged box and keypoints are their score-weighted mean, the score the best one's."""
    remaining = sorted(detections, key=lambda d: -d.score)
    kept = []
    while remaining:
        best = remaining[0]
        group = [d for d in remaining if iou(best, d) > min_suppression]
        remaining = [d for d in remaining if iou(best, d) <= min_suppression and d is not best]
        weights = np.array([d.score for d in group])
        corners = np.array([[d.xmin, d.ymin, d.xmax, d.ymax] for d in group])
        points = np.array([d.keypoints for d in group])
        box = weights @ corners / weights.sum()
        kps = np.tensordot(weights, points, axes=1) / weights.sum()
        kept.append(Detection(*(float(v) for v in box), best.score, tuple((float(x), float(y)) for x, y in kps)))
    return kept


def remove_letterbox(detections: Sequence[Detection], box: Letterbox) -> list[Detection]:
    """From the padded 128x128 frame back to the photograph (both normalized)."""
    sx, sy = 1.0 - box.left - box.right, 1.0 - box.top - box.bottom

    def x(v: float) -> float:
        return (v - box.left) / sx

    def y(v: float) -> float:
        return (v - box.top) / sy

    return [Detection(x(d.xmin), y(d.ymin), x(d.xmax), y(d.ymax), d.score,
                      tuple((x(px), y(py)) for px, py in d.keypoints)) for d in detections]


def detect(outputs: Mapping[str, np.ndarray] | Sequence[np.ndarray], box: Letterbox, *,
           min_score: float = MIN_SCORE, min_suppression: float = MIN_SUPPRESSION) -> list[Detection]:
    """Faces in the photograph from the model's two outputs: decode, weighted NMS, letterbox removal."""
    regressors, logits = split_outputs(outputs)
    return remove_letterbox(weighted_nms(decode(regressors, logits, min_score=min_score), min_suppression), box)


@dataclass(frozen=True)
class DetectionMatch:
    ok: bool
    reason: str
    ious: tuple[float, ...] = ()


def match(want: Sequence[Detection], got: Sequence[Detection], *, min_iou: float = 0.9,
          score_atol: float = 1e-3) -> DetectionMatch:
    """Do ``got`` (the device) and ``want`` (host LiteRT) find the same faces: same count, each reference
    face paired with a distinct device face of IoU >= ``min_iou`` and a score within ``score_atol``?"""
    if len(want) != len(got):
        return DetectionMatch(False, f"{len(got)} detections, reference has {len(want)}")
    free = list(got)
    ious = []
    for i, w in enumerate(want):
        best = max(free, key=lambda g: iou(w, g))
        overlap = iou(w, best)
        if overlap < min_iou:
            return DetectionMatch(False, f"reference face {i} best IoU {overlap:.3f} < {min_iou}", tuple(ious))
        if abs(best.score - w.score) > score_atol:
            return DetectionMatch(False, f"reference face {i} score {best.score:.5f} vs {w.score:.5f} "
                                         f"(allowed {score_atol})", tuple(ious))
        free.remove(best)
        ious.append(overlap)
    return DetectionMatch(True, "", tuple(ious))
