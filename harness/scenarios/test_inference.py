"""Inference: DLR on the device agrees with the user's model on the host (ONNX Runtime for .onnx, LiteRT for
.tflite) within the dtype's tolerance; latency and memory hold the profile's budgets; ONNX Runtime (on the .onnx,
or on a .tflite's ONNX conversion checked against LiteRT) and LiteRT (on a .tflite) are measured on the device
too, for the runtime comparison. A runtime that does not apply is recorded as not measured, with the reason."""

from __future__ import annotations

import json
import posixpath
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from harness.artifact.meta import load_meta, schedules_of
from harness.bench.budgets import budgets_for
from harness.bench.measure import BenchResult, assert_within_budgets, measure
from harness.models.tolerance import compare
from harness.primitives.scratch import scratch_dir
from harness.scenarios.conftest import host_reference, input_sets
from harness.ship import ship


def figures(result: BenchResult) -> dict[str, Any]:
    """What the report plots and compares: the model, percentiles (ms), the samples, memory, load and threads."""
    return {**result.latency_ms, "model": result.model, "samples": result.samples_ms, "peak_rss_mb": result.peak_rss_mb,
            "threads": result.settings.get("threads"),
            "load_s": result.load_s, "first_inference_ms": result.first_inference_ms,
            "runtime_version": result.runtime_version, "machine": result.machine, "note": result.note,
            "valid": result.valid, "duration_s": result.duration_s}


def test_dlr_matches_the_host_reference(device, artifact, artifacts, hil_record, tmp_path):
    sets = input_sets(artifact, artifacts.model)
    first = load_meta(artifact.directory).outputs[0].name  # dlr_run returns each run's first output
    reference = host_reference(artifacts.model, sets)
    want = {str(i): reference[s.label][first] for i, s in enumerate(sets)}
    labels = {str(i): s.label for i, s in enumerate(sets)}
    np.savez(tmp_path / "inputs.npz", **{f"{i}/{n}": a for i, s in enumerate(sets) for n, a in s.arrays.items()})

    code = ship(device.transport)
    with scratch_dir(device.transport, "infer") as remote:
        model, inputs = posixpath.join(remote, "model"), posixpath.join(remote, "inputs.npz")
        device.transport.put_dir(artifact.directory, model, timeout=120)
        device.transport.put(tmp_path / "inputs.npz", inputs, timeout=60)
        out = device.transport.check(code.argv(device.python, "dlr_run", model, "--feeds", inputs),
                                     timeout=300, step="dlr run").stdout
    results = json.loads(out.strip().splitlines()[-1])["results"]
    got = {key: np.asarray(r["values"]).astype(want[key].dtype).reshape(r["shape"]) for key, r in results.items()}

    assert set(got) == set(want)
    verdicts = {key: compare(first, want[key], got[key]) for key in want}
    hil_record.fact("host_reference", {labels[key]: {"output": first, "agreement": v.describe()}
                                       for key, v in verdicts.items()})
    bad = [f"{labels[key]}: {v.describe()}" for key, v in verdicts.items() if not v.ok]
    assert not bad, f"{device.name}: DLR disagrees with the host reference: " + "; ".join(bad)


def test_latency_and_memory_within_budgets(device, artifact, hil_record, budget_overrides, bench_record):
    result = bench_record(measure(device, artifact.directory, runtime="dlr", profile="ci"))
    meta = load_meta(artifact.directory)
    budgets = budgets_for(device, budget_overrides, meta.model.name)
    hil_record.stats("dlr", figures(result))
    hil_record.fact("schedules", schedules_of(meta.tuning))
    hil_record.budgets(budgets)
    assert result.valid, f"{device.name}: too few samples for a valid figure ({result.summary()})"
    assert result.machine == device.profile.arch
    if device.emulated and not budget_overrides:
        # An emulated core's CPU is the host's, shared with every other test and worker: its latency
        # measures contention, not the device. Memory and load still hold; --budget asserts p90 too.
        hil_record.fact("p90_budget", f"not asserted on an emulated core ({result.note}); give --budget to assert")
        budgets = {k: v for k, v in budgets.items() if k != "p90_ms"}
    assert_within_budgets(result, budgets)


@pytest.fixture(scope="module")
def onnx_model(artifacts, tmp_path_factory) -> tuple[Path | None, str]:
    """The model ONNX Runtime runs and how it was had: the .onnx itself, or a .tflite converted to ONNX and
    checked against LiteRT on the host (harness.models.convert); (None, why) otherwise."""
    from harness.models import convert

    return convert.onnx_for(artifacts.model.path, tmp_path_factory.mktemp("onnx"))


def test_onnxruntime_on_the_device(device, artifact, onnx_model, hil_record, bench_record):
    path, how = onnx_model
    if path is None:
        hil_record.not_measured("onnxruntime", how)
        pytest.skip(how)
    hil_record.fact("onnxruntime_model", how)
    result = bench_record(measure(device, artifact.directory, runtime="onnxruntime", profile="ci", onnx=path))
    hil_record.stats("onnxruntime", figures(result))
    assert result.runtime_version.startswith("onnxruntime ") and result.machine == device.profile.arch
    assert result.latency_ms["count"] == len(result.samples_ms) > 0 and result.peak_rss_mb > 0


def test_litert_on_the_device(device, artifact, artifacts, hil_record, bench_record):
    from harness.bench.measure import RuntimeUnavailable

    framework = load_meta(artifact.directory).model.framework
    if framework != "tflite":
        reason = f"LiteRT runs .tflite models; this model is {framework}"
        hil_record.not_measured("litert", reason)
        pytest.skip(reason)
    try:
        result = bench_record(measure(device, artifact.directory, runtime="litert", profile="ci",
                                      tflite=artifacts.model.path))
    except RuntimeUnavailable as exc:
        hil_record.not_measured("litert", exc.detail)
        pytest.skip(f"{device.name}: {exc.detail}")
    hil_record.stats("litert", figures(result))
    assert result.runtime_version.startswith("litert ") and result.machine == device.profile.arch
    assert result.latency_ms["count"] == len(result.samples_ms) > 0 and result.peak_rss_mb > 0
