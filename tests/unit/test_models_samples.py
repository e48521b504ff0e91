"""Model inputs from samples.npz, images and seeds (harness.models.samples); the npz checks are fuzzed."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import cv2
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from harness.models.errors import ModelWorkloadError
from harness.models.samples import (
    InputSpec,
    check_samples,
    choose_inputs,
    image_input,
    image_layout,
    load_npz,
    random_inputs,
    specs_from,
)

DTYPES = ["float32", "float16", "int8", "uint8", "int32", "int64", "bool"]
# Names as exporters write them: TF "serving_default_x:0", PyTorch "input.1", scoped "encoder/ids".
names = st.text(st.sampled_from("abcXYZ019_./:-"), min_size=1, max_size=24).filter(
    lambda n: not n.startswith("/") and "//" not in n and not n.endswith("/") and ".." not in n.split("/"))
specs = st.lists(st.tuples(names, hnp.array_shapes(min_dims=1, max_dims=3, max_side=4), st.sampled_from(DTYPES)),
                 min_size=1, max_size=4, unique_by=lambda t: t[0]).map(
    lambda ts: [InputSpec(n, tuple(s), d) for n, s, d in ts])


def _save(path: Path, arrays: dict[str, np.ndarray]) -> None:
    with path.open("wb") as f:
        np.savez(f, **arrays)


@settings(max_examples=60, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(specs, st.integers(0, 2**32 - 1))
def test_a_matching_npz_loads_exactly_in_model_order(tmp_path, model_inputs, seed):
    arrays = random_inputs(model_inputs, seed)
    path = tmp_path / "samples.npz"
    _save(path, dict(reversed(list(arrays.items()))))
    loaded = load_npz(path, model_inputs)
    assert list(loaded) == [s.name for s in model_inputs]
    for spec in model_inputs:
        np.testing.assert_array_equal(loaded[spec.name], arrays[spec.name])
        assert loaded[spec.name].dtype == np.dtype(spec.dtype)


@settings(max_examples=80, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(specs, st.data())
def test_any_wrong_key_shape_or_dtype_is_one_line_naming_the_key(tmp_path, model_inputs, data):
    arrays = random_inputs(model_inputs, 1)
    victim = data.draw(st.sampled_from(model_inputs))
    fault = data.draw(st.sampled_from(["missing", "unknown", "shape", "dtype"]))
    if fault == "missing":
        del arrays[victim.name]
        key = victim.name
    elif fault == "unknown":
        key = victim.name + "_extra"
        arrays[key] = np.zeros(1, np.float32)
    elif fault == "shape":
        arrays[victim.name] = np.zeros((*victim.shape, 2), victim.dtype)
        key = victim.name
    else:
        other = data.draw(st.sampled_from([d for d in DTYPES if d != victim.dtype]))
        arrays[victim.name] = arrays[victim.name].astype(other)
        key = victim.name
    path = tmp_path / "samples.npz"
    _save(path, arrays)
    with pytest.raises(ModelWorkloadError) as info:
        load_npz(path, model_inputs)
    assert repr(key) in info.value.detail and "\n" not in info.value.detail


@settings(max_examples=40, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.binary(max_size=300))
def test_garbage_files_are_refused_not_crashed_on(tmp_path, blob):
    path = tmp_path / "samples.npz"
    path.write_bytes(blob)
    with pytest.raises(ModelWorkloadError, match="samples.npz"):
        load_npz(path, [InputSpec("x", (1,), "float32")])


def test_pickled_object_arrays_are_refused(tmp_path):
    buf = io.BytesIO()
    np.save(buf, np.array([{"a": 1}], dtype=object), allow_pickle=True)
    with zipfile.ZipFile(tmp_path / "s.npz", "w") as z:
        z.writestr("x.npy", buf.getvalue())
    with pytest.raises(ModelWorkloadError, match="'x'"):
        load_npz(tmp_path / "s.npz", [InputSpec("x", (1,), "float32")])


@given(specs, st.integers(0, 1000))
def test_random_inputs_are_deterministic_per_seed_and_name(model_inputs, seed):
    a, b = random_inputs(model_inputs, seed), random_inputs(list(reversed(model_inputs)), seed)
    for spec in model_inputs:
        np.testing.assert_array_equal(a[spec.name], b[spec.name])
        assert a[spec.name].shape == spec.shape and a[spec.name].dtype == np.dtype(spec.dtype)
    alone = random_inputs(model_inputs[:1], seed)
    np.testing.assert_array_equal(alone[model_inputs[0].name], a[model_inputs[0].name])


def test_another_seed_gives_other_values():
    spec = [InputSpec("x", (64,), "float32")]
    assert not np.array_equal(random_inputs(spec, 0)["x"], random_inputs(spec, 1)["x"])


def test_layouts_and_images_follow_the_model(tmp_path):
    bgr = np.zeros((40, 60, 3), np.uint8)
    bgr[:, :30] = (255, 0, 0)  # left half blue in BGR
    cv2.imwrite(str(tmp_path / "img.png"), bgr)
    nchw, nhwc = InputSpec("data", (1, 3, 20, 30), "float32"), InputSpec("input", (1, 20, 30, 3), "uint8")
    assert image_layout(nchw) == "NCHW" and image_layout(nhwc) == "NHWC"
    assert image_layout(InputSpec("v", (1, 256), "float32")) is None
    x = image_input(tmp_path / "img.png", nchw, value_range=(-1.0, 1.0))
    assert x.shape == (1, 3, 20, 30) and x.dtype == np.float32
    assert x[0, 2, :, :10].min() == 1.0 and x[0, 0, :, :10].max() == -1.0  # RGB order: blue is channel 2
    y = image_input(tmp_path / "img.png", nhwc)
    assert y.shape == (1, 20, 30, 3) and y.dtype == np.uint8 and y[0, 0, 0, 2] == 255
    with pytest.raises(ModelWorkloadError, match="not one NCHW or NHWC image"):
        image_input(tmp_path / "img.png", InputSpec("v", (1, 256), "float32"))
    with pytest.raises(ModelWorkloadError, match="cannot read image"):
        image_input(tmp_path / "missing.png", nchw)


def test_specs_from_meta_like_objects():
    class Spec:
        name, shape, dtype = "a:0", [1, 2], "int32"

    assert specs_from([Spec()]) == [InputSpec("a:0", (1, 2), "int32")]
    with pytest.raises(ModelWorkloadError, match="missing"):
        check_samples({}, [Spec()])


def test_inputs_come_from_samples_else_images_else_the_seed(tmp_path):
    image, vector = InputSpec("data", (1, 3, 8, 8), "float32"), InputSpec("v", (1, 16), "float32")
    cv2.imwrite(str(tmp_path / "a.png"), np.full((8, 8, 3), 255, np.uint8))
    np.savez(tmp_path / "s.npz", data=np.zeros((1, 3, 8, 8), np.float32))
    (chosen,) = choose_inputs([image], samples=tmp_path / "s.npz", images=[tmp_path / "a.png"])
    assert chosen.label == "s.npz" and not chosen.arrays["data"].any()
    (chosen,) = choose_inputs([image], images=[tmp_path / "a.png"])
    assert chosen.label == "a.png" and (chosen.arrays["data"] == 1.0).all()
    (chosen,) = choose_inputs([vector], images=[tmp_path / "a.png"], seed=4)
    assert chosen.label == "seed 4"
    np.testing.assert_array_equal(chosen.arrays["v"], random_inputs([vector], 4)["v"])
