"""Model against model (``hil run --model NEW --reference-model OLD``): on every device, both versions measured
with DLR on the same inputs, NEW's device outputs checked against OLD run on the host, and one verdict against
the thresholds (``--max-latency-ratio``, ``--max-memory-ratio``, ``--min-agreement``; harness.models.versus).

Collected only when the run names ``--reference-model``.
"""

from __future__ import annotations

import json
import posixpath

import numpy as np
import pytest

from harness.artifact.meta import load_meta
from harness.bench.measure import measure
from harness.models import versus
from harness.models.reference import run_reference
from harness.primitives.scratch import scratch_dir
from harness.scenarios.conftest import input_sets, save_input_sets
from harness.scenarios.test_inference import figures
from harness.ship import ship


def _specs(directory) -> list[tuple[str, list[int], str]]:
    return [(i.name, list(i.shape), i.dtype) for i in load_meta(directory).inputs]


def test_new_model_against_the_reference(device, artifact, artifacts, reference_artifacts, versus_thresholds,
                                         hil_record, bench_record, tmp_path):
    old = reference_artifacts.for_target(device.profile.neo_target)
    new_name, old_name = load_meta(artifact.directory).model.name, load_meta(old.directory).model.name
    if _specs(artifact.directory) != _specs(old.directory):
        pytest.fail(f"{new_name} takes inputs {_specs(artifact.directory)}, the reference {old_name} takes "
                    f"{_specs(old.directory)}: the two versions cannot be fed the same inputs")
    sets = input_sets(artifact, artifacts.model)
    first = tmp_path / "first.npz"
    np.savez(first, **sets[0].arrays)
    # Same inputs, same profile, one after the other under the device's measurement lock.
    runs = {role: bench_record(measure(device, a.directory, runtime="dlr", profile="ci", inputs=first))
            for role, a in (("model", artifact), ("reference", old))}
    hil_record.stats("dlr", figures(runs["model"]))
    hil_record.stats("dlr:reference", figures(runs["reference"]))

    code = ship(device.transport)
    with scratch_dir(device.transport, "versus") as remote:
        model, inputs = posixpath.join(remote, "model"), posixpath.join(remote, "inputs.npz")
        device.transport.put_dir(artifact.directory, model, timeout=120)
        device.transport.put(save_input_sets(sets, tmp_path / "inputs.npz"), inputs, timeout=60)
        out = device.transport.check(code.argv(device.python, "dlr_run", model, "--feeds", inputs, "--all-outputs"),
                                     timeout=300, step="dlr run").stdout
    report = json.loads(out.strip().splitlines()[-1])
    agreements = []
    for i, s in enumerate(sets):
        got = {name: np.asarray(o["values"], dtype=o["dtype"]).reshape(o["shape"])
               for name, o in zip(report["outputs"], report["results"][str(i)]["outputs"], strict=True)}
        agreements.append(versus.agree(s.label, got, run_reference(reference_artifacts.model.path, s.arrays)))

    verdict = versus.judge(device.name, new_name, old_name, p50_ms=runs["model"].latency_ms["p50"],
                           reference_p50_ms=runs["reference"].latency_ms["p50"],
                           peak_rss_mb=runs["model"].peak_rss_mb, reference_peak_rss_mb=runs["reference"].peak_rss_mb,
                           sets=agreements, thresholds=versus_thresholds)
    hil_record.fact("versus", {**verdict.as_dict(), "thresholds": versus_thresholds.__dict__,
                               "note": runs["model"].note})
    assert verdict.ok, verdict.summary()
