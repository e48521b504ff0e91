"""The result message: AWS's DLR image-classification shape, and a parser that never crashes."""

from __future__ import annotations

import json
from datetime import datetime

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from harness.ondevice.link import parse_endpoint
from harness.ondevice.payload import (
    INFERENCE_TYPE,
    ClassificationResult,
    PayloadError,
    build_payload,
    parse_payload,
)


def test_payload_has_the_aws_dlr_component_shape():
    logits = np.array([0.5, 2.0, -1.0, 1.0])
    payload = build_payload(logits, ["cat", "dog", "fish", "bird"], max_results=3, image="f.png",
                            now=datetime(2026, 11, 25, 18, 0, 0, 123456))
    assert set(payload) == {"timestamp", "inference-type", "inference-description", "inference-results",
                            "image", "top1"}
    assert payload["timestamp"] == "2026-11-25 18:00:00.123456"
    assert payload["inference-type"] == "image-classification"
    assert payload["inference-description"] == "Top 3 predictions with score 0.0 or above "
    results = payload["inference-results"]
    assert [r["Label"] for r in results] == ["dog", "bird", "cat"]
    assert all(set(r) == {"Label", "Score"} and isinstance(r["Score"], str) for r in results)
    scores = [float(r["Score"]) for r in results]
    assert scores == sorted(scores, reverse=True)
    expected = np.exp(logits) / np.exp(logits).sum()
    assert scores[0] == pytest.approx(expected[1], abs=1e-7)
    assert payload["top1"] == 1


def test_threshold_and_missing_labels():
    payload = build_payload([0.0, 0.0, 5.0], None, score_threshold=0.5)
    assert payload["inference-results"] == [{"Label": "2", "Score": payload["inference-results"][0]["Score"]}]
    assert "image" not in payload


def test_round_trip_through_json():
    payload = build_payload([1.0, 3.0], ["a", "b"], image="frame-000007.png")
    result = parse_payload(json.dumps(payload).encode())
    assert isinstance(result, ClassificationResult)
    assert (result.top_label, result.top1, result.image) == ("b", 1, "frame-000007.png")
    assert result.predictions[0].score == pytest.approx(float(payload["inference-results"][0]["Score"]))


@pytest.mark.parametrize(("raw", "message"), [
    (b"\xff\xfe", "not UTF-8"),
    (b"[1, 2]", "JSON list"),
    (b"{", "not JSON"),
    (json.dumps({"timestamp": "t", "inference-type": "object-detection", "inference-description": "d",
                 "inference-results": []}), "is not 'image-classification'"),
    (json.dumps({"timestamp": "t", "inference-type": INFERENCE_TYPE, "inference-description": "d",
                 "inference-results": [{"Label": "a", "Score": "1.5"}]}), "Score"),
    (json.dumps({"timestamp": "t", "inference-type": INFERENCE_TYPE, "inference-description": "d",
                 "inference-results": [{"Label": "a", "Score": "NaN"}]}), "Score"),
    (json.dumps({"timestamp": "t", "inference-type": INFERENCE_TYPE, "inference-description": "d",
                 "inference-results": [], "top1": True}), "top1"),
    (b"x" * 200_000, "exceeds"),
])
def test_malformed_messages_are_one_line_errors(raw, message):
    with pytest.raises(PayloadError, match=message) as err:
        parse_payload(raw)
    assert "\n" not in str(err.value)


_json = st.recursive(st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=8),
                     lambda kids: st.lists(kids, max_size=4) | st.dictionaries(st.text(max_size=8), kids, max_size=4),
                     max_leaves=12)
_result_like = st.fixed_dictionaries({
    "timestamp": st.text(max_size=5) | st.integers(), "inference-type": st.sampled_from([INFERENCE_TYPE, "x"]),
    "inference-description": st.text(max_size=5),
    "inference-results": st.lists(st.fixed_dictionaries({"Label": st.text(max_size=4) | st.none(),
                                                         "Score": _json}), max_size=3) | _json,
}, optional={"image": _json, "top1": _json})


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=200) | _json.map(lambda v: json.dumps(v).encode()) | _result_like.map(json.dumps))
def test_fuzz_parse_payload_returns_a_result_or_a_payload_error(raw):
    try:
        result = parse_payload(raw)
    except PayloadError as exc:
        assert str(exc) and "\n" not in str(exc)
    else:
        assert all(0.0 <= p.score <= 1.0 for p in result.predictions)


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=40))
def test_fuzz_parse_endpoint(text):
    try:
        host, port = parse_endpoint(text)
    except ValueError as exc:
        assert "endpoint" in str(exc)
    else:
        assert host and 0 < port < 65536


def test_parse_endpoint_examples():
    assert parse_endpoint("10.213.4.1:41883\n") == ("10.213.4.1", 41883)
    assert parse_endpoint("broker.lab") == ("broker.lab", 8883)
    with pytest.raises(ValueError):
        parse_endpoint("host:99999")
