"""The bundled model and images are reproducible from make_model.py, and reference.json is ONNX Runtime's."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

from fixtures.model import make_model

MODEL_DIR = Path(make_model.__file__).resolve().parent


def test_model_file_is_what_the_script_builds():
    model = make_model.build_model()
    assert model.SerializeToString() == (MODEL_DIR / "tinycnn.onnx").read_bytes()
    assert 30_000 <= make_model.parameter_count(model) <= 40_000
    assert (MODEL_DIR / "tinycnn.onnx").stat().st_size < 300_000
    assert [i.name for i in model.graph.input] == ["data"]


def test_images_are_drawn_deterministically():
    for name, bgr in make_model.draw_images().items():
        on_disk = cv2.imread(str(make_model.IMAGES / f"{name}.png"))
        assert np.array_equal(on_disk, bgr)
