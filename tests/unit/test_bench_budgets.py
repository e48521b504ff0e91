"""Budgets: override parsing (fuzzed), layering profile < lab file < override, and the exact failure line."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from harness.bench.budgets import (
    BudgetExceeded,
    BudgetSyntaxError,
    Override,
    budgets_for,
    merge,
    parse_override,
)
from harness.bench.lock import Hold
from harness.bench.measure import BenchResult, assert_within_budgets
from harness.lab.inventory import DeviceSpec
from harness.lab.profiles import Budgets, load_profiles


def result(device="rasp4b-emu", p50=12.1, p90=18.4, n=300, rss=120.0, load=0.5) -> BenchResult:
    return BenchResult(
        device=device, runtime="dlr", runtime_version="dlr 1.10.0", model="tinycnn",
        latency_ms={"count": n, "mean": p50, "std": 1.0, "min": 1.0, "p50": p50, "p90": p90, "p99": p90,
                    "max": p90},
        samples_ms=[p50] * n, first_inference_ms=p90, load_s=load, peak_rss_mb=rss, peak_rss_source="VmHWM",
        cpu_s={}, cpu_measure_s={}, duration_s=1.0, valid=True, settings={}, host="controller", emulated=True,
        machine="aarch64", note=None, wall_start=0.0, wall_end=1.0, lock=Hold("controller", 0.0))


@pytest.mark.parametrize(("text", "want"), [
    ("p90_ms=15", Override("p90_ms", 15.0)),
    (" peak_rss_mb = 64.5", Override("peak_rss_mb", 64.5)),
    ("tinycnn:load_s=2", Override("load_s", 2.0, "tinycnn")),
])
def test_override_parses(text, want):
    assert parse_override(text) == want


@pytest.mark.parametrize(("text", "match"), [
    ("p90=15", "expected \\[MODEL:\\]KEY=VALUE"),
    ("p90_ms", "expected"),
    ("p90_ms=0", "not a positive number"),
    ("p90_ms=-3", "not a positive number"),
    ("p90_ms=nan", "not a positive number"),
    ("p90_ms=inf", "not a positive number"),
    ("p90_ms=fast", "not a positive number"),
    (":p90_ms=1", "expected"),
])
def test_bad_override_is_one_clear_line(text, match):
    with pytest.raises(BudgetSyntaxError, match=match) as info:
        parse_override(text)
    assert "\n" not in info.value.detail


@given(st.text(max_size=60))
def test_any_override_text_parses_or_is_a_typed_error(text):
    try:
        override = parse_override(text)
    except BudgetSyntaxError:
        return
    assert override.value > 0 and override.key in ("p90_ms", "peak_rss_mb", "load_s")


def test_layers_later_wins_and_model_scoped_overrides_apply_only_to_their_model():
    profile = {"p90_ms": 400.0, "peak_rss_mb": 400.0, "load_s": 30.0}
    lab = {"p90_ms": 300.0, "peak_rss_mb": None}
    overrides = [Override("load_s", 5.0), Override("p90_ms", 15.0, "tinycnn"), Override("p90_ms", 1.0, "other")]
    assert merge(profile, lab, overrides=overrides, model="tinycnn") == {
        "p90_ms": 15.0, "peak_rss_mb": 400.0, "load_s": 5.0}
    assert merge(profile, lab, overrides=overrides[:2], model="resnet")["p90_ms"] == 300.0


def test_budgets_for_a_lab_device_reads_profile_then_lab_file():
    class Dev:
        profile = load_profiles()["rasp4b"]
        spec = DeviceSpec(name="pi", profile="rasp4b", emulated=True, budgets=Budgets(p90_ms=250.0))

    got = budgets_for(Dev(), [parse_override("load_s=9")], "tinycnn")
    assert got == {"p90_ms": 250.0, "peak_rss_mb": Dev.profile.budgets.peak_rss_mb, "load_s": 9.0}


def test_unknown_budget_key_in_a_layer_is_rejected():
    with pytest.raises(BudgetSyntaxError, match="unknown budget 'p95_ms'"):
        merge({"p95_ms": 1.0})


def test_failure_message_reads_exactly_like_the_report_line():
    with pytest.raises(BudgetExceeded) as info:
        assert_within_budgets(result(), {"p90_ms": 15.0, "peak_rss_mb": 400.0})
    assert str(info.value) == "rasp4b-emu: p90 18.4 ms > budget 15.0 ms (p50 12.1, n=300)"
    assert isinstance(info.value, AssertionError)


def test_every_figure_over_budget_is_named():
    with pytest.raises(BudgetExceeded) as info:
        assert_within_budgets(result(rss=512.0, load=31.25), {"p90_ms": 15.0, "peak_rss_mb": 400.0, "load_s": 30.0})
    assert info.value.lines == ["rasp4b-emu: p90 18.4 ms > budget 15.0 ms (p50 12.1, n=300)",
                                "rasp4b-emu: peak RSS 512.0 MB > budget 400.0 MB",
                                "rasp4b-emu: load 31.2 s > budget 30.0 s"]


def test_within_budget_passes_and_equal_is_within():
    assert_within_budgets(result(p90=15.0), {"p90_ms": 15.0, "peak_rss_mb": 120.0, "load_s": 0.5})
    assert_within_budgets(result(), {})


def test_lab_file_budgets_are_validated():
    with pytest.raises(ValueError, match="greater than 0"):
        DeviceSpec(name="pi", profile="rasp4b", emulated=True, budgets={"p90_ms": 0})
    with pytest.raises(ValueError, match="Extra inputs"):
        DeviceSpec(name="pi", profile="rasp4b", emulated=True, budgets={"p95_ms": 1})
