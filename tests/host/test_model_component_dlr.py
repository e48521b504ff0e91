"""The generic model component's DLR step on this host: models users bring and BlazeFace, compiled for ml_c4,
run on the inputs file the scenarios ship; the published message agrees with the model run by ONNX Runtime or
LiteRT, and BlazeFace's detections with host LiteRT's and the faces in each photograph."""

from __future__ import annotations

import json

import pytest

from harness.compile import compile_model
from harness.models.compare import compare_payload
from harness.models.reference import run_reference
from harness.models.samples import choose_inputs, specs_from
from harness.ondevice import model_component, output_summary
from harness.runtime.build import LIBS
from harness.scenarios import workloads
from harness.scenarios.conftest import IMAGES, save_input_sets
from tests import any_models


def _blazeface(_path):
    from harness.models.catalog import blazeface_model

    return blazeface_model()


MODELS = {"two-inputs": (any_models.two_inputs, {"accel": [1, 16], "features": [1, 8]}),
          "blazeface": (_blazeface, {"input": [1, 128, 128, 3]}),
          "classifier-1000": (any_models.classifier_1000, {"input": [1, 3, 224, 224]}),
          "dynamic-batch": (any_models.dynamic_batch, {"x": [1, 3, 8, 8]})}


@pytest.mark.parametrize("name", MODELS)
def test_published_outputs_agree_with_onnx_runtime(name, tmp_path, host_libdlr):
    import dlr

    build, config = MODELS[name]
    model = build(tmp_path / f"{name}.onnx")
    art = compile_model(model, "ml_c4", config, tmp_path / "ml_c4", runtime_libs=[host_libdlr / n for n in LIBS])
    detector = workloads.is_detector(model)
    sets = (workloads.photograph_inputs("input") if detector
            else choose_inputs(specs_from(art.meta.inputs), images=sorted(IMAGES.glob("*.png"))))
    path = save_input_sets(sets, tmp_path / "inputs.npz")
    meta = model_component.read_meta(art.directory)
    read = model_component.read_input_sets(path, meta["inputs"])
    assert [label for label, _ in read] == [s.label for s in sets]
    runner = dlr.DLRModel(str(art.directory), "cpu", 0)
    for seq, ((label, feed), inputs) in enumerate(zip(read, sets, strict=True)):
        message = model_component.infer(runner, [o["name"] for o in meta["outputs"]], label, feed, seq)
        encoded = json.dumps(message, allow_nan=False)
        assert len(encoded) < output_summary.MAX_BYTES
        host = run_reference(model, inputs.arrays)
        verdict = compare_payload(encoded, host)
        assert verdict.ok, f"{label}: {verdict.describe()}"
        if detector:
            assert [e["encoding"] for e in message["outputs"]] == ["base64", "base64"]  # whole, for decoding
            assert workloads.detection_problems(label, json.loads(encoded), host) == []
        assert message["input"] == label and message["seq"] == seq and message["ms"] > 0
