"""BlazeFace decoding (harness.models.blazeface) on synthetic tensors: anchors, decoding, NMS, letterbox.

The options come from MediaPipe (google-ai-edge/mediapipe: mediapipe/modules/face_detection/
face_detection_short_range.pbtxt); the real model runs in tests/host/test_models_blazeface.py.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from harness.models import blazeface as bf


def test_anchors_are_two_grids_of_shared_centres():
    a = bf.ssd_anchors()
    assert a.shape == (896, 2) and (a > 0).all() and (a < 1).all()
    fine, coarse = a[:512], a[512:]
    assert len({tuple(p) for p in fine}) == 16 * 16 and len({tuple(p) for p in coarse}) == 8 * 8
    assert (fine[0::2] == fine[1::2]).all()  # 2 anchors per cell at stride 8
    assert all((coarse[i:i + 6] == coarse[i]).all() for i in range(0, 384, 6))  # 3 layers x 2 at stride 16
    assert np.allclose(np.unique(fine[:, 0]), (np.arange(16) + 0.5) / 16)


def _raw(anchor: int, box: tuple[float, float, float, float], logit: float) -> tuple[np.ndarray, np.ndarray]:
    anchors = bf.ssd_anchors()
    cx, cy, w, h = box
    reg = np.zeros((1, 896, 16), np.float32)
    ax, ay = anchors[anchor]
    reg[0, anchor, :4] = [(cx - ax) * 128, (cy - ay) * 128, w * 128, h * 128]
    for k in range(6):  # keypoints spread across the box
        reg[0, anchor, 4 + 2 * k] = (cx - w / 2 + w * k / 5 - ax) * 128
        reg[0, anchor, 5 + 2 * k] = (cy - ay) * 128
    logits = np.full((1, 896, 1), -20.0, np.float32)
    logits[0, anchor, 0] = logit
    return reg, logits


@given(st.integers(0, 895), st.floats(0.2, 0.8), st.floats(0.2, 0.8), st.floats(0.05, 0.3), st.floats(0.05, 0.3),
       st.floats(0.1, 8.0))
def test_an_encoded_box_decodes_back(anchor, cx, cy, w, h, logit):
    reg, logits = _raw(anchor, (cx, cy, w, h), logit)
    (d,) = bf.detect({"regressors": reg, "classificators": logits}, bf.Letterbox(0, 0, 0, 0))
    assert d.score == pytest.approx(1 / (1 + np.exp(-logit)), rel=1e-6)
    assert (d.xmin, d.ymin, d.xmax, d.ymax) == pytest.approx((cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2),
                                                            abs=1e-5)
    assert d.keypoints[0] == pytest.approx((cx - w / 2, cy), abs=1e-5)


def test_scores_below_the_threshold_are_dropped_and_huge_logits_are_clipped():
    reg, logits = _raw(100, (0.5, 0.5, 0.2, 0.2), -0.01)
    assert bf.detect([reg, logits], bf.Letterbox(0, 0, 0, 0)) == []
    logits[0, 100, 0] = 1e30
    with np.errstate(all="raise"):
        (d,) = bf.detect([logits, reg], bf.Letterbox(0, 0, 0, 0))  # outputs in either order, found by shape
    assert d.score == pytest.approx(1.0)


def _det(x: float, score: float) -> bf.Detection:
    return bf.Detection(x, 0.1, x + 0.2, 0.3, score, ((x, 0.2),) * 6)


def test_weighted_nms_merges_overlaps_by_score_and_keeps_the_best_score():
    merged = bf.weighted_nms([_det(0.10, 0.6), _det(0.12, 0.9), _det(0.6, 0.7)])
    assert [round(d.score, 6) for d in merged] == [0.9, 0.7]
    assert merged[0].xmin == pytest.approx((0.10 * 0.6 + 0.12 * 0.9) / 1.5)
    alone = _det(0.6, 0.7)
    assert (merged[1].xmin, merged[1].ymin, merged[1].xmax, merged[1].ymax) == pytest.approx(
        (alone.xmin, alone.ymin, alone.xmax, alone.ymax))


def test_letterbox_padding_is_undone():
    bgr = np.full((64, 128, 3), 200, np.uint8)  # wide: padded above and below
    x, box = bf.preprocess(bgr)
    assert x.shape == (1, 128, 128, 3) and x.dtype == np.float32
    assert box.top == box.bottom == pytest.approx(0.25) and box.left == box.right == 0
    assert (x[0, :32] == -1).all() and (x[0, 32:96] == np.float32(200 / 127.5 - 1)).all()
    inside = bf.Detection(0.0, 0.25, 1.0, 0.75, 0.9, ((0.5, 0.5),) * 6)
    (back,) = bf.remove_letterbox([inside], box)
    assert (back.xmin, back.ymin, back.xmax, back.ymax) == pytest.approx((0, 0, 1, 1))
    assert back.box_pixels(128, 64) == (0, 0, 128, 64)


def test_match_pairs_faces_by_iou_and_score():
    a = [_det(0.1, 0.9), _det(0.6, 0.8)]
    assert bf.match(a, list(reversed(a))).ok
    assert "detections" in bf.match(a, a[:1]).reason
    assert "IoU" in bf.match(a, [_det(0.15, 0.9), a[1]]).reason
    assert "score" in bf.match(a, [_det(0.1, 0.95), a[1]]).reason
    with pytest.raises(ValueError, match="expected one"):
        bf.split_outputs([np.zeros((1, 896, 4))])
