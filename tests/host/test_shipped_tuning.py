"""The tuning database shipped in fixtures/tuning is what the default run compiles with: every task of the
bundled CNN, and every task of BlazeFace (the default workload) that MetaSchedule can schedule, has a record for
ml_c4, the x86_64 core's target, on this TVM; the bundled CNN has records for ml_c5 (AVX-512) too. 8 of
BlazeFace's 35 fused functions, conv + channel pad + residual add, trip MetaSchedule's reverse-compute-at and
keep the default schedule (harness.compile.search). A TVM upgrade changes the directory key
(harness.compile.tune_db) and fails this test: re-tune with the commands in docs/tuning.md. That the tuned code
answers as ONNX Runtime does is checked where the artifacts are used: tests/host/test_compile_e2e.py (the
bundled CNN on this host) and the main job's BlazeFace detections on the x86_64 core against host LiteRT."""

from __future__ import annotations

from pathlib import Path

import pytest

from harness.compile import compile_model, tvm_backend
from harness.compile.bundled import BUNDLED_INPUT_CONFIG, BUNDLED_MODEL
from harness.compile.targets import resolve_target
from harness.compile.tune_db import SHIPPED_ROOT, databases_for
from harness.models.catalog import blazeface_workload

pytestmark = pytest.mark.slow


@pytest.mark.parametrize("target", ["ml_c4", "ml_c5"])
def test_the_shipped_database_is_keyed_for_this_tvm(target: str, tmp_path: Path) -> None:
    found = databases_for(resolve_target(target, check_cpu=False).tvm, tvm_backend.toolchain_id(),
                          root=tmp_path / "no-user-db")
    assert [db.directory.parent for db in found] == [SHIPPED_ROOT], \
        f"no shipped records for {target} on this TVM under {SHIPPED_ROOT}: {sorted(SHIPPED_ROOT.iterdir())}"


@pytest.mark.parametrize(("workload", "target"), [("tinycnn", "ml_c4"), ("blazeface", "ml_c4"), ("tinycnn", "ml_c5")])
def test_every_task_of_the_default_workloads_is_tuned(workload: str, target: str, tmp_path: Path,
                                                      monkeypatch) -> None:
    monkeypatch.setenv("HIL_TUNING_DB", str(tmp_path / "no-user-db"))
    model, config = ((BUNDLED_MODEL, BUNDLED_INPUT_CONFIG) if workload == "tinycnn"
                     else (blazeface_workload().model, blazeface_workload().input_config))
    art = compile_model(model, target, config, tmp_path / "out", cache_dir=tmp_path / "cache")
    t = art.meta.tuning
    assert t is not None, f"{workload}: no shipped records apply"
    if workload == "tinycnn":
        assert t.default_tasks == 0, t
    else:
        assert t.tuned_tasks >= 3 * (t.tuned_tasks + t.default_tasks) // 4, t
