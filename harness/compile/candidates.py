"""Where MetaSchedule's candidates are built and timed for one `hil tune`, and how Ctrl-C stops it.

Locally: a LocalBuilder and a LocalRunner. On a device: a LocalBuilder whose export links a shared library
with the target's (cross) g++, and an RPCRunner through a tracker on this controller, the device's server
running for the block (harness.compile.rpc_tune, harness.compile.rpc_server).
"""

from __future__ import annotations

import functools
import importlib
import os
import signal
import tempfile
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

from harness.compile.targets import ResolvedTarget
from harness.ondevice.cpus import tvm_threads
from harness.primitives.progress import Say
from harness.ship import ship

if TYPE_CHECKING:
    from harness.lab.device import Device

#: Building one candidate links it with the toolchain; on a loaded 2-CPU machine that exceeds 30 s.
BUILDER_TIMEOUT = 300.0
RUNNER_TIMEOUT = 120.0

EVALUATOR = {"number": 3, "repeat": 1, "min_repeat_ms": 20}


class Interrupt:
    """Ctrl-C during a search. MetaSchedule's loop runs in C++ and calls the builder and runner in Python: a
    KeyboardInterrupt raised in one of those calls either vanishes (the tune ran on to its end) or unwinds
    through C++ into std::terminate (a segfault, seen with TVM 0.27). So the handler only records it and
    touches ``stop_file``: the builds and sessions still queued then fail at once, the progress callback ends
    the search after the batch (harness.compile.search ``_progress_callback``), and ``check`` raises
    KeyboardInterrupt in Python, where the device's server is stopped."""

    def __init__(self) -> None:
        self.hit = False
        #: Touched on Ctrl-C: the builder's and runner's worker processes read it (see ``unless_stopped``); in a
        #: private directory, as a fixed name in /tmp could be planted by another user.
        self.stop_file = ""

    @contextmanager
    def installed(self) -> Iterator[Interrupt]:
        if threading.current_thread() is not threading.main_thread():
            yield self
            return
        previous = signal.getsignal(signal.SIGINT)
        private = tempfile.mkdtemp(prefix="hil-tune-")
        self.stop_file = os.path.join(private, "stop")

        def handler(_signum, _frame) -> None:
            if self.hit:
                return
            self.hit = True
            Path(self.stop_file).touch()

        signal.signal(signal.SIGINT, handler)
        try:
            yield self
        finally:
            signal.signal(signal.SIGINT, previous)
            Path(self.stop_file).unlink(missing_ok=True)
            os.rmdir(private)

    def check(self) -> None:
        if self.hit:
            raise KeyboardInterrupt


def device_cores(device: Device) -> int:
    """The device's physical cores, counted on the device (harness.ondevice.cpus)."""
    code = ship(device.transport)
    out = device.transport.check(code.argv(device.python, "cpus"), timeout=30.0, step="count cores").stdout.strip()
    return int(out) if out.isdigit() else 1


@contextmanager
def nowhere() -> Iterator[tuple[None, None]]:
    yield None, None  # type: ignore[misc]


@contextmanager
def candidates_on(device: Device | None, target: ResolvedTarget, threads: int, report: Say,
                   interrupt: Interrupt) -> Iterator[tuple]:
    """(builder factory, runner factory): local ones, or a cross-linking builder and an RPC runner whose
    server runs on ``device`` for the block (and is stopped after, also on error or Ctrl-C). Candidates are
    timed with ``threads`` threads."""
    from tvm.s_tir import meta_schedule as ms

    evaluator = ms.runner.EvaluatorConfig(**EVALUATOR)
    if device is None:
        yield (lambda: _local_builder(ms, None, interrupt),
               lambda: ms.runner.LocalRunner(timeout_sec=RUNNER_TIMEOUT, evaluator_config=evaluator,
                                             initializer=functools.partial(tvm_threads, threads)))
        return
    from harness.compile import rpc_server, rpc_tune

    addresses = rpc_server.endpoints(device.transport)
    key = rpc_tune.new_key(device.name)
    with rpc_tune.tracker(addresses.controller, device=device.name, say=report) as tracker:
        host, port = tracker.host, tracker.port
        with rpc_server.serving(device, (host, port), key, lambda: rpc_tune.registered(host, port, key),
                                threads=threads, say=report):
            export = rpc_tune.exporter(target)
            yield (lambda: _local_builder(ms, export, interrupt),
                   lambda: rpc_tune.rpc_runner(host, port, key, evaluator, interrupt.stop_file))


def _local_builder(ms, export, interrupt: Interrupt):
    from harness.compile.tune import import_tensor_intrinsics

    build = functools.partial(unless_stopped, "s_tir.meta_schedule.builder.local_builder.default_build",
                              interrupt.stop_file)
    return ms.builder.LocalBuilder(timeout_sec=BUILDER_TIMEOUT, max_workers=os.cpu_count() or 1,
                                   initializer=import_tensor_intrinsics, f_build=build, f_export=export)


def unless_stopped(default: str, stop_file: str, *args):
    """MetaSchedule's ``default`` function (by its module path), unless ``stop_file`` exists: then an error,
    which MetaSchedule records as a failed candidate at once. Runs in the builder's and runner's workers."""
    if os.path.exists(stop_file):
        raise RuntimeError("hil tune interrupted (Ctrl-C): candidate not tried")
    module, _, name = default.rpartition(".")
    return getattr(importlib.import_module(f"tvm.{module}"), name)(*args)
