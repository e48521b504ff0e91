"""Agreement rules per dtype (harness.models.tolerance), fuzzed with hypothesis."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from harness.models.tolerance import RULES, compare, compare_all

DTYPES = sorted(RULES)
shapes = hnp.array_shapes(min_dims=1, max_dims=3, min_side=1, max_side=6)


def _arrays(dtype: str):
    if np.dtype(dtype).kind == "f":
        elements = st.floats(-1e4, 1e4, width=np.dtype(dtype).itemsize * 8, allow_nan=False)
        return hnp.arrays(dtype, shapes, elements=elements)
    return hnp.arrays(dtype, shapes)


@given(st.sampled_from(DTYPES).flatmap(_arrays))
def test_an_output_agrees_with_itself(a):
    verdict = compare("out", a, a.copy())
    assert verdict.ok and verdict.size == a.size and verdict.mismatched == 0


@settings(max_examples=100)
@given(st.sampled_from(["float32", "float16", "float64"]).flatmap(_arrays), st.data(), st.floats(0.0, 0.99))
def test_floats_within_the_rule_agree_and_beyond_it_disagree_at_the_worst_element(a, data, fraction):
    rule = RULES[a.dtype.name]
    i = data.draw(st.integers(0, a.size - 1))
    allowed = rule.atol + rule.rtol * abs(float(a.flat[i]))
    near = a.astype(np.float64)
    near.flat[i] += fraction * allowed
    near = near.astype(a.dtype)
    # casting back to the dtype may round up past the allowed step only by the dtype's own spacing
    if abs(float(near.flat[i]) - float(a.flat[i])) <= allowed:
        assert compare("out", a, near).ok
    far = a.astype(np.float64)
    far.flat[i] += 3 * allowed + 2 * float(np.spacing(np.abs(a.flat[i]).astype(a.dtype)))
    far = far.astype(a.dtype)
    verdict = compare("out", a, far)
    assert not verdict.ok and verdict.mismatched >= 1
    assert verdict.worst_index == tuple(int(v) for v in np.unravel_index(i, a.shape))
    assert verdict.difference > verdict.allowed


@given(st.sampled_from(["int8", "uint8"]), shapes, st.data())
def test_quantized_outputs_may_differ_by_one_step_not_two(dtype, shape, data):
    a = data.draw(hnp.arrays(dtype, shape, elements=st.integers(10, 100)))
    i = data.draw(st.integers(0, a.size - 1))
    for step, ok in ((1, True), (-1, True), (2, False), (-2, False)):
        b = a.copy()
        b.flat[i] = int(a.flat[i]) + step
        assert compare("q", a, b).ok is ok


@given(st.sampled_from(["int16", "int32", "int64"]), shapes, st.data())
def test_other_integers_must_be_exact(dtype, shape, data):
    a = data.draw(hnp.arrays(dtype, shape, elements=st.integers(-1000, 1000)))
    i = data.draw(st.integers(0, a.size - 1))
    b = a.copy()
    b.flat[i] += 1
    verdict = compare("i", a, b)
    assert not verdict.ok and verdict.mismatched == 1


@given(hnp.arrays(bool, shapes))
def test_bool_must_be_exact(a):
    b = a.copy()
    b.flat[0] = not b.flat[0]
    assert not compare("b", a, b).ok


def test_nan_matches_only_nan_and_infinity_only_itself():
    a = np.array([np.nan, np.inf, -np.inf, 1.0], np.float32)
    assert compare("f", a, a.copy()).ok
    for i, bad in ((0, 0.0), (1, -np.inf), (2, 1e30), (3, np.nan)):
        b = a.copy()
        b[i] = bad
        verdict = compare("f", a, b)
        assert not verdict.ok and verdict.worst_index == (i,)


def test_shape_dtype_and_missing_outputs_disagree_with_a_reason():
    a = np.zeros((2, 3), np.float32)
    assert "shape" in compare("x", a, np.zeros((3, 2), np.float32)).reason
    assert "dtype" in compare("x", a, np.zeros((2, 3), np.float16)).reason
    verdicts = compare_all({"x": a, "y": a}, {"x": a, "z": a})
    assert [(v.name, v.ok) for v in verdicts] == [("x", True), ("y", False), ("z", False)]
