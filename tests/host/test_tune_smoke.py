"""`hil tune` at a tiny budget on a one-convolution model: real MetaSchedule search on this controller, the
records applied by compile_model, the digest in compiled.meta and the cache key, and a re-tune that costs
nothing. The tuned code must still answer as ONNX Runtime does. Slow (MetaSchedule builds and times
candidates); never part of the default run beyond this test."""

from __future__ import annotations

import platform
from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
import pytest
from onnx import TensorProto, helper, numpy_helper

from harness.compile import CompileError, compile_model, tvm_backend
from harness.compile.targets import resolve_target
from harness.compile.tune import host_refusal, keep_best, tune_model
from harness.compile.tune_db import TuningDatabase, combined_digest, databases_for

pytestmark = pytest.mark.slow
SHAPE = [1, 8, 16, 16]


def _conv_model(path: Path) -> Path:
    w = numpy_helper.from_array(np.random.default_rng(3).standard_normal((16, 8, 3, 3)).astype(np.float32), "w")
    graph = helper.make_graph([helper.make_node("Conv", ["x", "w"], ["c"], pads=[1, 1, 1, 1]),
                               helper.make_node("Relu", ["c"], ["y"])], "conv",
                              [helper.make_tensor_value_info("x", TensorProto.FLOAT, SHAPE)],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 16, 16, 16])],
                              initializer=[w])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    onnx.checker.check_model(model)
    path.write_bytes(model.SerializeToString())
    return path


def _run(artifact_dir: Path, x: np.ndarray) -> np.ndarray:
    import tvm
    from tvm import relax

    vm = relax.VirtualMachine(tvm.runtime.load_module(str(artifact_dir / "compiled.so")), tvm.cpu())
    return vm["main"](tvm.runtime.tensor(x)).numpy()


@pytest.mark.skipif(host_refusal(resolve_target("ml_c4", check_cpu=False)) is not None,
                    reason="this controller cannot run ml_c4 code")
def test_tiny_tune_is_applied_recorded_and_not_repeated(tmp_path: Path) -> None:
    model = _conv_model(tmp_path / "conv.onnx")
    db_root, cache = tmp_path / "tuning", tmp_path / "cache"
    config = {"x": SHAPE}
    first = tune_model(model, "ml_c4", config, trials=4, root=db_root)
    assert first.tasks >= 1 and first.tuned_now >= 1 and first.trials >= 1 and first.untuned < first.tasks
    assert first.digest and (first.database / "database_tuning_record.json").stat().st_size > 0

    again = tune_model(model, "ml_c4", config, trials=4, root=db_root)
    assert again.trials == 0 and again.tuned_now == 0 and again.already_tuned == first.tasks - first.untuned
    assert again.digest == first.digest

    lines: list[str] = []
    tuned = compile_model(model, "ml_c4", config, tmp_path / "tuned", cache_dir=cache, tuning_db=db_root,
                          progress=lines.append)
    t = tuned.meta.tuning
    # The user's database first, then any shipped one for the target: the digest covers both.
    searched = databases_for(resolve_target("ml_c4").tvm, tvm_backend.toolchain_id(), root=db_root)
    assert searched[0].directory == first.database
    assert t is not None and t.database == combined_digest(searched) and t.tuned_tasks >= 1
    assert t.tuned_tasks + t.default_tasks == first.tasks
    assert any(f"{t.tuned_tasks} tasks tuned, {t.default_tasks} on the default schedule" in ln for ln in lines)

    untuned = compile_model(model, "ml_c4", config, tmp_path / "untuned", cache_dir=cache, tuning=False)
    assert untuned.meta.tuning is None
    compiles = tvm_backend.COMPILES
    compile_model(model, "ml_c4", config, tmp_path / "tuned-again", cache_dir=cache, tuning_db=db_root)
    assert tvm_backend.COMPILES == compiles  # the digest is part of the key: same database, cache hit

    x = np.random.default_rng(0).standard_normal(SHAPE).astype(np.float32)
    want = ort.InferenceSession(str(model), providers=["CPUExecutionProvider"]).run(None, {"x": x})[0]
    np.testing.assert_allclose(_run(tuned.directory, x), want, rtol=1e-4, atol=1e-4)
    np.testing.assert_allclose(_run(untuned.directory, x), want, rtol=1e-4, atol=1e-4)

    # Pruned to each workload's best record (as fixtures/tuning is shipped), it tunes the same tasks.
    db = TuningDatabase(first.database)
    kept = keep_best(db)
    assert kept == t.tuned_tasks == db.record_count() and first.trials > kept
    pruned = compile_model(model, "ml_c4", config, tmp_path / "pruned", cache_dir=cache, tuning_db=db_root)
    assert pruned.meta.tuning.tuned_tasks == t.tuned_tasks and pruned.meta.tuning.database != t.database
    np.testing.assert_allclose(_run(pruned.directory, x), want, rtol=1e-4, atol=1e-4)


@pytest.mark.skipif(platform.machine() != "x86_64", reason="the refusal under test is of aarch64 code on x86_64")
def test_a_target_this_controller_cannot_time_is_refused(tmp_path: Path) -> None:
    model = _conv_model(tmp_path / "conv.onnx")
    with pytest.raises(CompileError, match="TVM RPC") as info:
        tune_model(model, "rasp4b", {"x": SHAPE}, trials=4, root=tmp_path / "tuning")
    assert info.value.step == "tune" and not (tmp_path / "tuning").exists()
