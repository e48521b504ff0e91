"""One MetaSchedule search for `hil tune`: the tasks it can schedule, the gradient task scheduler, progress
and the time budget (a measure callback), with the builder and runner harness.compile.candidates makes."""

from __future__ import annotations

import os
import tempfile

from harness.compile.candidates import Interrupt
from harness.primitives.deadline import Timeout
from harness.primitives.progress import Say

TRIALS_PER_ITER = 16
#: Schedules the evolutionary search breeds per batch (MetaSchedule's default: 512). Breeding and ranking
#: them with the cost model took ~24 s of each ~32 s batch of 16 on 2 CPUs, building and timing the 16 ~8 s:
#: a quarter of the population leaves most of the time to measured trials.
POPULATION = 128


def search(ms, tasks, trials: int, database, seed: int, budget: Timeout, report: Say, builder, runner,
            interrupt: Interrupt) -> int:
    """One MetaSchedule search over ``tasks``; returns how many were measured.

    The gradient task scheduler (tune_relax's default) gives every task a first batch, then each batch to the task
    whose weighted latency falls fastest, so a small budget still covers every task and a large one goes to the
    heavy convolutions. Builder and runner pools start once for all tasks, not once per task (``builder()`` and
    ``runner()`` make them: local ones, or a device's, harness.compile.candidates).
    """
    try:
        import xgboost  # noqa: F401  (the `tune` extra)
        cost_model = "xgb"
    except ImportError:  # evolutionary search still works, ranking candidates at random
        cost_model = "random"
    _drop_unnamed_handlers()
    with tempfile.TemporaryDirectory(prefix="hil-tune-") as work:
        contexts, weights = _schedulable(*ms.relax_integration.extracted_tasks_to_tune_contexts(
            tasks, work_dir=work, strategy=ms.search_strategy.EvolutionarySearch(population_size=POPULATION),
            num_threads=os.cpu_count() or 1, seed=seed), report)
        if not contexts:
            return 0
        per_iter = max(1, min(TRIALS_PER_ITER, trials // len(contexts)))
        if trials < len(contexts) * per_iter:
            report(f"{trials} trials cannot give each of {len(contexts)} tasks a batch of {per_iter}: "
                   f"some stay untuned")
        report(f"searching: first a batch of {per_iter} candidates for each of the {len(contexts)} tasks (said once "
               f"all are timed), then batches where latency falls fastest")
        progress = _progress_callback(ms, [str(c.task_name) for c in contexts], budget, report, interrupt)
        try:
            ms.tune_tasks(tasks=contexts, task_weights=weights, work_dir=work, max_trials_global=trials,
                          num_trials_per_iter=per_iter, database=database, cost_model=cost_model,
                          builder=builder(), runner=runner(),
                          measure_callbacks=[*ms.measure_callback.MeasureCallback.create("default"), progress],
                          task_scheduler="gradient")
        except Exception:
            if not progress.stopped:  # the budget or Ctrl-C ends a search by raising from its callback
                raise
    return len(progress.measured)


def _schedulable(contexts, weights, report: Say) -> tuple[list, list]:
    """The tasks whose design space MetaSchedule can generate, with their weights. Some fused functions trip
    a schedule rule (BlazeFace's conv + channel pad + residual add: ``reverse-compute-at`` finds a producer
    outside the loop) and would end the whole search inside TaskScheduler.tune; they keep the default
    schedule and the others are tuned."""
    kept: tuple[list, list] = ([], [])
    for ctx, weight in zip(contexts, weights, strict=True):
        try:
            ctx.generate_design_space()
        except Exception as exc:  # ScheduleError and kin, from C++
            first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            report(f"{ctx.task_name}: MetaSchedule cannot schedule it ({first}); it keeps the default schedule")
            continue
        kept[0].append(ctx)
        kept[1].append(weight)
    return kept


def _progress_callback(ms, names: list[str], budget: Timeout, report: Say, interrupt: Interrupt):
    """A measure callback that says each batch's outcome and, once ``budget`` is spent or Ctrl-C was pressed,
    ends the search.

    It runs after MetaSchedule's default callbacks, so the batch is in the database before it raises; raising is
    the one way out of a running TaskScheduler.tune (terminating tasks from a callback trips its invariants:
    src/s_tir/meta_schedule/task_scheduler/task_scheduler.cc terminates each joined task itself). Batches still
    in flight are dropped."""
    from tvm.ir.utils import derived_object

    @derived_object
    class _Progress(ms.measure_callback.PyMeasureCallback):
        def __init__(self) -> None:
            self.best: dict[int, float] = {}
            self.measured: set[int] = set()
            self.trials = 0
            self.stopped = False

        def apply(self, task_scheduler, task_id, measure_candidates, builder_results, runner_results) -> None:
            self.trials += len(runner_results)
            times = [float(sum(float(s) for s in r.run_secs) / len(r.run_secs))
                     for r in runner_results if r.error_msg is None and r.run_secs]
            if times:
                self.measured.add(task_id)
                self.best[task_id] = min(min(times), self.best.get(task_id, float("inf")))
            best = f"best {self.best[task_id] * 1e6:.1f} µs" if task_id in self.best else "no valid candidate yet"
            report(f"{names[task_id]}: {len(times)}/{len(runner_results)} candidates ran, {best} "
                   f"({self.trials} trials, {budget.elapsed:.0f} s)")
            if interrupt.hit and not self.stopped:
                self.stopped = True
                raise RuntimeError("hil tune interrupted")  # not KeyboardInterrupt: C++ is between us and Python
            if budget.expired and not self.stopped:
                self.stopped = True
                report(f"time budget spent after {self.trials} trials: ending the search")
                raise TimeoutError("tuning time budget spent")

    return _Progress()


def _drop_unnamed_handlers() -> None:
    """MetaSchedule's ``create_loggers`` (tvm/s_tir/meta_schedule/logging.py) lists the names of its logger's
    handlers in a dictConfig and calls ``.format`` on each: an unnamed handler there (pytest's
    LogCaptureHandler, left after an earlier tune in the same process) makes the next tune fail with
    ``'NoneType' object has no attribute 'format'``."""
    import logging

    ms_logger = logging.getLogger("tvm.s_tir.meta_schedule")
    for handler in [h for h in ms_logger.handlers if h.get_name() is None]:
        ms_logger.removeHandler(handler)
