"""Model against model: outputs paired by position with the dtype's rule, ratios and agreement against thresholds,
and the `hil run` options that ask for it."""

from __future__ import annotations

import argparse

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from harness import run as run_cli
from harness.models.errors import ModelWorkloadError
from harness.models.versus import SetAgreement, Thresholds, agree, judge

LOGITS = np.linspace(-1, 1, 10, dtype=np.float32).reshape(1, 10)


def test_outputs_pair_by_position_and_agree_within_the_dtype_rule():
    same = agree("a.png", {"logits_v2": LOGITS + 5e-4}, {"logits": LOGITS})
    assert same.agrees and same.same_top1 and same.detail == ""
    flipped = agree("a.png", {"logits": LOGITS[:, ::-1].copy()}, {"logits": LOGITS})
    assert not flipped.agrees and flipped.same_top1 is False and "logits" in flipped.detail
    renamed = agree("b", {"p": LOGITS * 2}, {"q": LOGITS})
    assert not renamed.agrees and "p (OLD q)" in renamed.detail and renamed.same_top1  # scaled: same top-1


def test_different_output_counts_or_shapes_disagree_with_a_reason():
    assert agree("s", {"a": LOGITS, "b": LOGITS}, {"a": LOGITS}).detail == "NEW has 2 outputs, OLD 1"
    wrong = agree("s", {"a": LOGITS.reshape(10)}, {"a": LOGITS})
    assert not wrong.agrees and wrong.same_top1 is None and "shape [10] vs OLD's [1, 10]" in wrong.detail
    scalar = agree("s", {"a": np.float32([3.0])}, {"a": np.float32([3.0])})
    assert scalar.agrees and scalar.same_top1 is None  # one element: no top-1 to speak of


def _judge(p50=10.0, ref_p50=10.0, rss=50.0, ref_rss=50.0, sets=None, thresholds=None):
    thresholds = thresholds or Thresholds()
    sets = sets if sets is not None else [SetAgreement("x", True, True, "")]
    return judge("dev", "new", "old", p50_ms=p50, reference_p50_ms=ref_p50, peak_rss_mb=rss,
                 reference_peak_rss_mb=ref_rss, sets=sets, thresholds=thresholds)


def test_the_verdict_names_each_threshold_broken():
    assert _judge().ok and _judge().latency_ratio == 1.0 and _judge().top1_agreement == 1.0
    slow = _judge(p50=12.0)
    assert not slow.ok and slow.breaches == ("p50 12 ms is 1.20x the reference's 10 ms (limit 1.1x)",)
    fat = _judge(rss=60.0, thresholds=Thresholds(max_memory_ratio=1.5))
    assert fat.ok and fat.memory_ratio == pytest.approx(1.2)
    sets = [SetAgreement("a", True, True, ""), SetAgreement("b", False, False, "logits: differs")]
    half = _judge(sets=sets)
    assert half.agreement == 0.5 and half.top1_agreement == 0.5 and half.disagreements == ("b: logits: differs",)
    assert half.breaches == ("outputs agree with the reference on 50% of 2 input sets (at least 100% required)",)
    assert _judge(sets=sets, thresholds=Thresholds(min_agreement=0.5)).ok
    summary = _judge(p50=5.0).summary()
    assert summary.startswith("dev: new vs old: p50 0.50x, peak RSS 1.00x, 100% of 1 input sets agree")
    assert _judge(p50=5.0).as_dict()["ok"] is True


def test_bad_thresholds_and_figures_are_refused():
    for bad in ({"max_latency_ratio": 0}, {"max_memory_ratio": -1.0}, {"min_agreement": 1.5},
                {"min_agreement": float("nan")}, {"max_latency_ratio": True}):
        with pytest.raises(ModelWorkloadError):
            Thresholds(**bad)
    with pytest.raises(ModelWorkloadError, match="no input sets"):
        _judge(sets=[])
    with pytest.raises(ModelWorkloadError, match="reference p50 0.0 is not a positive figure"):
        _judge(ref_p50=0.0)


@given(st.floats(0.01, 1000), st.floats(0.01, 1000), st.floats(0.05, 20))
def test_latency_breach_exactly_when_the_ratio_passes_the_limit(p50, ref, limit):
    verdict = _judge(p50=p50, ref_p50=ref, thresholds=Thresholds(max_latency_ratio=limit))
    assert verdict.ok == (p50 / ref <= limit)


def test_hil_run_hands_the_reference_model_and_thresholds_to_the_scenarios(tmp_path):
    parser = argparse.ArgumentParser()
    run_cli.register(parser.add_subparsers())
    args, rest = parser.parse_known_args(["run", "--model", "new.onnx", "--input-config", '{"x": [1, 4]}',
                                          "--reference-model", "old.onnx", "--min-agreement", "0.75"])
    args.pytest_args = rest
    argv = run_cli.pytest_argv(args, tmp_path)
    assert "--reference-model=old.onnx" in argv and "--min-agreement=0.75" in argv
    assert not any(a.startswith(("--max-latency-ratio", "--reference-input-config")) for a in argv)  # defaults
    assert "--reference-model old.onnx --min-agreement 0.75" in run_cli.rerun_command(args)
