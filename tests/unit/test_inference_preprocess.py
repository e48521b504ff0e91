"""One preprocessing for device and host (fixtures/model/make_model.py makes the references with it)."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import cv2
import numpy as np
import onnxruntime as ort
import pytest

from harness.ondevice.preprocess import ImageError, load_image, newest_image, preprocess

MODEL_DIR = Path(__file__).resolve().parents[2] / "fixtures" / "model"
IMAGES = MODEL_DIR.parent / "images"
REFERENCE = json.loads((MODEL_DIR / "reference.json").read_text())


@pytest.mark.parametrize("name", sorted(REFERENCE["outputs"]))
def test_reproduces_the_onnx_runtime_reference(name):
    x = preprocess(load_image(IMAGES / name))
    assert x.shape == (1, 3, 224, 224) and x.dtype == np.float32 and x.flags.c_contiguous
    session = ort.InferenceSession(str(MODEL_DIR / REFERENCE["model"]), providers=["CPUExecutionProvider"])
    (y,) = session.run(None, {"data": x})
    np.testing.assert_allclose(y[0], REFERENCE["outputs"][name]["logits"], rtol=1e-5, atol=1e-5)
    assert int(np.argmax(y[0])) == REFERENCE["outputs"][name]["top1"]


def test_channel_order_and_normalisation_by_hand():
    bgr = np.zeros((10, 20, 3), np.uint8)
    bgr[..., 2] = 255  # pure red in OpenCV's BGR
    x = preprocess(bgr)
    red, green = x[0, 0], x[0, 1]
    assert np.allclose(red, (1.0 - 0.485) / 0.229) and np.allclose(green, (0.0 - 0.456) / 0.224)


def test_bad_images_are_image_errors(tmp_path):
    with pytest.raises(ImageError, match="not found"):
        load_image(tmp_path / "missing.png")
    (tmp_path / "junk.png").write_bytes(b"not a png")
    with pytest.raises(ImageError, match="not a decodable image"):
        load_image(tmp_path / "junk.png")
    with pytest.raises(ImageError, match="HxWx3"):
        preprocess(np.zeros((8, 8), np.uint8))


def test_newest_image_skips_temp_files_and_other_files(tmp_path):
    assert newest_image(tmp_path / "absent") is None
    older, newer = tmp_path / "frame-000001.png", tmp_path / "frame-000002.png"
    for path in (older, newer, tmp_path / ".frame-000003.png.tmp", tmp_path / "notes.txt"):
        cv2.imwrite(str(path), np.zeros((4, 4, 3), np.uint8)) if path.suffix == ".png" else path.write_text("x")
    now = time.time()
    os.utime(older, (now - 10, now - 10))
    assert newest_image(tmp_path) == newer
