"""`hil tune`: MetaSchedule search for a model's TIR workloads, recorded in the tuning database.

Candidates run on the controller for targets its CPU can run (same arch, every cpu_feature the target
needs in /proc/cpuinfo), or on a lab device through TVM's RPC (harness.compile.rpc_tune: a tracker here,
the server started on the device over its transport). An emulated core under qemu times qemu, not the
board: refused unless the caller asks for a functional check. Tasks whose workload already has a record
are skipped unless ``force``, so re-tuning an unchanged model spends no trials. `compile_model` applies
the records (`build_tuned`).
"""

from __future__ import annotations

import inspect
import linecache
import os
import platform
import sys
import tempfile
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from harness.compile import tvm_backend
from harness.compile.candidates import Interrupt, candidates_on, device_cores, nowhere
from harness.compile.errors import CompileError
from harness.compile.frameworks import detect_framework, load_model, to_relax
from harness.compile.input_config import bind_inputs, parse_input_config
from harness.compile.search import search
from harness.compile.targets import ResolvedTarget, resolve_target
from harness.compile.tune_db import TuningDatabase, default_root, target_dir_name
from harness.errors import FailureClass
from harness.ondevice.cpus import physical_cores
from harness.primitives.deadline import Timeout
from harness.primitives.progress import Say

if TYPE_CHECKING:
    from harness.lab.device import Device

@dataclass(frozen=True)
class TuneResult:
    """What one `hil tune` did: task counts, trials spent, wall time and the database written."""

    tasks: int
    tuned_now: int
    already_tuned: int
    untuned: int
    trials: int
    seconds: float
    database: Path
    digest: str | None


def host_refusal(target: ResolvedTarget, *, machine: str | None = None,
                 flags: frozenset[str] | None = None) -> str | None:
    """Why candidates for ``target`` cannot be timed on this controller, or None when they can."""
    here = machine or platform.machine()
    if target.arch != here:
        return (f"{target.neo} is {target.arch} code and this controller is {here}: candidates must run on a "
                f"{target.arch} device through TVM RPC: give --device NAME (a board; an emulated core runs under "
                f"qemu, whose timings are not the board's)")
    have = host_cpu_flags() if flags is None else flags
    missing = [f for f in target.cpu_features if f not in have]
    if missing:
        return (f"{target.neo} code needs {', '.join(missing)}, which this controller's CPU lacks (candidates would "
                f"die with Illegal instruction): give --device NAME, a device with them, to time candidates there "
                f"through TVM RPC")
    return None


def host_cpu_flags(cpuinfo: Path = Path("/proc/cpuinfo")) -> frozenset[str]:
    """The ``flags`` (x86) / ``Features`` (ARM) of the first CPU in /proc/cpuinfo."""
    try:
        text = cpuinfo.read_text()
    except OSError:
        return frozenset()
    for line in text.splitlines():
        key, _, value = line.partition(":")
        if key.strip() in ("flags", "Features"):
            return frozenset(value.split())
    return frozenset()


def tuning_target(target: ResolvedTarget, cores: int | None = None):  # -> tvm.target.Target
    """The TVM target with ``num-cores`` (MetaSchedule's parallel rules need it): the physical cores of where
    candidates run, this controller's by default; the runner times them with that many threads."""
    import tvm

    return tvm.target.Target({**target.tvm, "num-cores": cores or physical_cores()})


def fused_module(mod, tvm_target):  # (tvm.IRModule, Target) -> tvm.IRModule
    """The module after dispatch, legalization and fusion (TVM's CPU pipeline, which every offline target
    uses): the fused TIR functions MetaSchedule keys records by."""
    import tvm
    from tvm.relax.backend.cpu_generic import pipeline

    with tvm_target:
        return tvm.transform.Sequential(pipeline.library_dispatch_passes(tvm_target)
                                        + pipeline.legalize_passes(tvm_target))(mod)


def tuned_pipeline(database, tvm_target):  # -> tvm.transform.Pass
    """TVM's default CPU pipeline with MetaScheduleApplyDatabase after fusion (tvm/s_tir/meta_schedule/
    relax_integration.py compile_relax does the same); functions without a record keep the default schedule."""
    import tvm
    from tvm import relax
    from tvm.relax.backend.cpu_generic import pipeline

    @tvm.transform.module_pass(opt_level=0)
    def _pipeline(mod, _ctx):
        with tvm_target, database:
            mod = fused_module(mod, tvm_target)
            mod = relax.transform.MetaScheduleApplyDatabase()(mod)
            return tvm.transform.Sequential(pipeline.dataflow_lower_passes(tvm_target)
                                            + pipeline.finalize_passes(tvm_target))(mod)

    return _pipeline


def open_database(db: TuningDatabase):  # -> ms.database.JSONDatabase
    from tvm.s_tir import meta_schedule as ms

    db.directory.mkdir(parents=True, exist_ok=True)
    return ms.database.JSONDatabase(str(db.workloads), str(db.records))


def keep_best(db: TuningDatabase) -> int:
    """Rewrite ``db`` with only the best record of each workload (MetaSchedule's ``dump_pruned``): what a
    database shipped with a repository needs; the others only train the cost model of a later search.
    Returns the records kept."""
    with tempfile.TemporaryDirectory(prefix="hil-prune-", dir=db.directory) as tmp:
        pruned = TuningDatabase(Path(tmp))
        open_database(db).dump_pruned(open_database(pruned))
        for path in (pruned.workloads, pruned.records):
            os.replace(path, db.directory / path.name)
    return db.record_count()


def extract_tasks(mod, tvm_target) -> list:  # -> list[ms.ExtractedTask]
    """The tasks (fused TIR functions) MetaSchedule keys records by, from the unfused module."""
    from tvm.s_tir import meta_schedule as ms

    return list(ms.relax_integration.extract_tasks(fused_module(mod, tvm_target), tvm_target))


def has_record(database, task, tvm_target) -> bool:
    return bool(database.query_tuning_record(task.dispatched[0], tvm_target, task.task_name))


def count_tuned(tasks, tvm_target, database) -> tuple[int, int]:
    """(tasks with a record, tasks on the default schedule)."""
    tuned = sum(1 for t in tasks if has_record(database, t, tvm_target))
    return tuned, len(tasks) - tuned


def build_tuned(mod, target: ResolvedTarget, databases: list[TuningDatabase], out_so: Path) -> tuple[int, int]:
    """Compile ``mod`` applying the databases (first match wins) into ``out_so``; returns (tuned, default) tasks."""
    from tvm.s_tir import meta_schedule as ms

    opened = [open_database(db) for db in databases]
    database = opened[0] if len(opened) == 1 else ms.database.OrderedUnionDatabase(*opened)
    tvm_target = tuning_target(target)
    counts = count_tuned(extract_tasks(mod, tvm_target), tvm_target, database)
    tvm_backend.build(mod, target, out_so, pipeline=tuned_pipeline(database, tvm_target))
    return counts


def tune_model(model: Path | str, target: str | dict, input_config: str | dict | list, *,
               framework: str | None = None, compiler_options: str | dict | None = None, trials: int = 64,
               time_budget: float | None = None, root: Path | None = None, force: bool = False,
               prune: bool = False, seed: int = 0, progress: Say | None = None, device: Device | str | None = None,
               lab: Path | None = None, allow_emulated: bool = False) -> TuneResult:
    """Tune the workloads of ``model`` for ``target`` into the database under ``root`` (``prune``: then keep only
    each workload's best record).

    ``device`` (a lab device, or its name in ``lab``) times candidates there through TVM RPC instead of here.
    """
    report = progress or (lambda _m: None)
    started = Timeout(float("inf"))
    resolved = resolve_target(target, compiler_options)
    if trials < 1:
        raise CompileError(f"--trials must be at least 1, not {trials}", step="tune")
    with ExitStack() as stack:
        if isinstance(device, str):
            device = stack.enter_context(_lab_device(device, lab, report))
        if device is None:
            refusal = host_refusal(resolved)
            if refusal:
                raise CompileError(f"cannot tune {resolved.neo} here: {refusal}", step="tune",
                                   advice="give --device NAME, or tune here an x86_64 target this CPU runs (ml_c4)")
        else:
            from harness.compile.rpc_tune import device_refusal

            refusal = device_refusal(resolved, device.name, device.arch, device.emulated,
                                     allow_emulated=allow_emulated)
            if refusal:
                raise CompileError(f"cannot tune {resolved.neo} on {device.name}: {refusal}", device=device.name,
                                   step="tune", failure_class=FailureClass.WRONG_TARGET if device.arch
                                   != resolved.arch else None)
        _require_search_packages()
        return _tune(model, resolved, input_config, framework=framework, trials=trials, started=started,
                     time_budget=time_budget, root=root, force=force, prune=prune, seed=seed, report=report,
                     device=device)


@contextmanager
def _lab_device(name: str, lab: Path | None, report: Say) -> Iterator[Device]:
    from harness.lab.bringup import LabController
    from harness.lab.inventory import load_lab

    handle = LabController(load_lab(lab), report).device(name)
    with handle.transport:
        yield handle


def _tune(model, resolved: ResolvedTarget, input_config, *, framework, trials: int, started: Timeout,
          time_budget: float | None, root: Path | None, force: bool, prune: bool, seed: int, report: Say,
          device: Device | None) -> TuneResult:
    model = Path(model)
    try:
        data = model.read_bytes()
    except OSError as exc:
        raise CompileError(f"ClientError: cannot read model {model}: {exc.strerror or exc}", step="tune") from None
    loaded = load_model(framework or detect_framework(model, data), model, data)
    mod = to_relax(loaded, bind_inputs(parse_input_config(input_config), loaded.inputs))
    db = TuningDatabase(Path(root or default_root()) / target_dir_name(resolved.tvm, tvm_backend.toolchain_id()))
    cores = device_cores(device) if device is not None else physical_cores()
    tvm_target = tuning_target(resolved, cores)
    database = open_database(db)
    from tvm.s_tir import meta_schedule as ms

    import_tensor_intrinsics()
    tasks = extract_tasks(mod, tvm_target)
    pending = [t for t in tasks if force or not has_record(database, t, tvm_target)]
    report(f"{len(tasks)} tasks, {len(tasks) - len(pending)} already in {db.directory}, tuning {len(pending)} "
           f"with {trials} trials")
    before = db.record_count()
    interrupt = Interrupt()
    with interrupt.installed(), \
            candidates_on(device, resolved, cores, report, interrupt) if pending else nowhere() as (builder, runner):
        budget = Timeout(time_budget if time_budget else float("inf"))  # a device's server start is not search
        done = search(ms, pending, trials, database, seed, budget, report, builder, runner, interrupt) \
            if pending else 0
        interrupt.check()
    tuned, untuned = count_tuned(tasks, tvm_target, database)
    trials_now, failed = db.record_count() - before, db.failed_since(before)
    if prune:
        report(f"kept the best of {db.record_count()} records: {keep_best(db)}")
    result = TuneResult(tasks=len(tasks), tuned_now=done, already_tuned=len(tasks) - len(pending), untuned=untuned,
                        trials=trials_now, seconds=started.elapsed, database=db.directory, digest=db.digest())
    where = f" on {device.name}" if device is not None else ""
    report(f"{tuned}/{len(tasks)} tasks have records; {result.trials} trials{where} in {result.seconds:.0f} s"
           + (f"; {failed} candidates failed to build or run (MetaSchedule's logs say why)" if failed else ""))
    return result


def _require_search_packages() -> None:
    """MetaSchedule imports these only deep inside the search; say so before any time is spent."""
    import importlib.util

    missing = [m for m in ("cloudpickle", "psutil") if importlib.util.find_spec(m) is None]
    if missing:
        raise CompileError(f"MetaSchedule needs {', '.join(missing)}, which is not installed", step="tune",
                           advice="pip install 'edge-hil[tune]' (cloudpickle, psutil, xgboost-cpu)")


def import_tensor_intrinsics() -> None:
    """Import ``tvm.s_tir.tensor_intrin`` (every TuneContext does) with a cheap ``inspect.stack``.

    The module parses a few hundred TVMScript intrinsics (CUDA, ROCm, Hexagon… whatever the target), and
    TVMScript's ``prim_func`` calls ``inspect.stack()`` for each; that resolves every frame's module by
    scanning ``sys.modules``, minutes of CPU on a loaded 2-CPU machine. The parser only reads each frame's
    frame object, line number and source line, which this stack gives from ``linecache`` directly.
    """
    if "tvm.s_tir.tensor_intrin" in sys.modules:
        return

    def _stack(context: int = 1) -> list[inspect.FrameInfo]:
        frames, frame = [], sys._getframe(1)
        while frame is not None:
            line = linecache.getline(frame.f_code.co_filename, frame.f_lineno)
            frames.append(inspect.FrameInfo(frame, frame.f_code.co_filename, frame.f_lineno, frame.f_code.co_name,
                                            [line] if line else None, 0 if line else None))
            frame = frame.f_back
        return frames

    original = inspect.stack
    inspect.stack = _stack
    try:
        import tvm.s_tir.tensor_intrin  # noqa: F401
    finally:
        inspect.stack = original
