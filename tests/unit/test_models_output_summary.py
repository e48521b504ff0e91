"""The device's output message (harness.ondevice.output_summary) and the host comparator (harness.models.compare)."""

from __future__ import annotations

import ast
import json
from pathlib import Path

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from harness.models.compare import compare_payload
from harness.ondevice import output_summary
from harness.ondevice.output_summary import MAX_BYTES, checksum, decode_entry, encode, summarize

DTYPES = ["float32", "float16", "int8", "uint8", "int32", "int64", "bool"]
outputs = st.dictionaries(
    st.text("abcxyz:/._", min_size=1, max_size=12),
    st.sampled_from(DTYPES).flatmap(lambda d: hnp.arrays(d, hnp.array_shapes(min_dims=1, max_dims=3, max_side=24))),
    min_size=1, max_size=5)


def test_the_module_runs_on_devices_with_stdlib_and_numpy_only():
    tree = ast.parse(Path(output_summary.__file__).read_text())
    imported = {a.name.split(".")[0] for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names}
    imported |= {n.module.split(".")[0] for n in ast.walk(tree) if isinstance(n, ast.ImportFrom) and n.module}
    assert imported <= {"__future__", "base64", "hashlib", "json", "math", "collections", "numpy"}


@settings(max_examples=40)
@given(outputs)
def test_every_whole_output_round_trips_bit_for_bit_and_the_host_agrees(arrays):
    message = json.loads(encode(arrays))
    assert [e["name"] for e in message["outputs"]] == list(arrays)
    for entry, a in zip(message["outputs"], arrays.values(), strict=True):
        assert entry["sha256"] == checksum(a) and entry["shape"] == list(a.shape) and entry["dtype"] == a.dtype.name
        got = decode_entry(entry)
        if got is not None:
            assert got.dtype == a.dtype and got.shape == a.shape
            np.testing.assert_array_equal(got, a)
    assert compare_payload(encode(arrays), arrays).ok


def test_large_outputs_become_fingerprints_and_the_message_stays_under_128_kib():
    rng = np.random.default_rng(3)
    big = {"features": rng.standard_normal((1, 200_000)).astype(np.float32),
           "boxes": rng.standard_normal((1, 896, 16)).astype(np.float32),
           "scores": rng.standard_normal((1, 10)).astype(np.float32)}
    data = encode(big)
    assert len(data) <= MAX_BYTES
    entries = {e["name"]: e for e in json.loads(data)["outputs"]}
    assert [entries[n]["encoding"] for n in ("scores", "boxes", "features")] == ["values", "base64", "summary"]
    summary = entries["features"]
    assert summary["argmax"] == int(np.argmax(big["features"]))
    assert [i for i, _ in summary["top_k"]] == list(np.argsort(-big["features"].ravel())[:5])
    assert compare_payload(data, big).ok


def test_many_outputs_fit_as_fingerprints():
    arrays = {f"o{i}": np.full((1000,), i, np.float32) for i in range(300)}
    data = encode(arrays)
    assert len(data) <= MAX_BYTES and compare_payload(data, arrays).ok


def test_non_finite_floats_are_strict_json():
    a = {"x": np.array([np.nan, np.inf, -np.inf, 1.5], np.float32)}
    data = encode(a)
    assert b"NaN\"" in data and compare_payload(data, a).ok
    np.testing.assert_array_equal(decode_entry(json.loads(data)["outputs"][0]), a["x"])


def _perturbed(arrays, name, index, delta):
    out = {k: v.copy() for k, v in arrays.items()}
    out[name].flat[index] += delta
    return out


def test_the_comparator_finds_a_wrong_element_in_each_encoding():
    rng = np.random.default_rng(5)
    ref = {"small": rng.standard_normal(8).astype(np.float32),
           "medium": rng.standard_normal(5000).astype(np.float32),
           "large": rng.standard_normal(100_000).astype(np.float32)}
    assert compare_payload(encode(ref), ref).ok
    for name, index in (("small", 3), ("medium", 4321), ("large", 2)):
        verdict = compare_payload(encode(_perturbed(ref, name, index, 0.5)), ref)
        assert not verdict.ok and name in verdict.describe()
    top = int(np.argmax(ref["large"]))
    assert not compare_payload(encode(_perturbed(ref, "large", top, -1.0)), ref).ok
    # a fingerprint only sees what it carries: within tolerance near the top it still agrees
    assert compare_payload(encode(_perturbed(ref, "large", top, 1e-6)), ref).ok


def test_a_malformed_or_mismatched_message_disagrees_with_a_reason():
    ref = {"x": np.zeros(3, np.float32)}
    assert "malformed" in compare_payload(b"{not json", ref).describe()
    assert "schema" in compare_payload(json.dumps({"schema": "other", "outputs": []}), ref).describe()
    assert "missing" in compare_payload(encode({"y": ref["x"]}), ref).describe()
    assert "int32" in compare_payload(encode({"x": np.zeros(3, np.int32)}), ref).describe()
    tampered = summarize(ref)
    tampered["outputs"][0]["values"] = ["oops", 1, 2]
    assert not compare_payload(tampered, ref).ok
