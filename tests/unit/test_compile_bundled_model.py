"""The bundled model and images are reproducible from make_model.py, and reference.json is ONNX Runtime's."""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np
import onnxruntime as ort

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


def test_reference_outputs_are_onnx_runtime_on_the_pngs():
    ref = json.loads((MODEL_DIR / "reference.json").read_text())
    session = ort.InferenceSession(str(MODEL_DIR / "tinycnn.onnx"), providers=["CPUExecutionProvider"])
    for png, want in ref["outputs"].items():
        x = make_model.preprocess(cv2.imread(str(make_model.IMAGES / png)))
        assert x.shape == (1, 3, 224, 224) and x.dtype == np.float32
        (y,) = session.run(None, {"data": x})
        assert np.max(np.abs(y[0] - np.array(want["logits"], dtype=np.float32))) <= 1e-5
        assert int(np.argmax(y[0])) == want["top1"]
    assert len(ref["outputs"]) >= 3
