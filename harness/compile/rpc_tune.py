"""Tuning on a lab device: where candidates may run, and MetaSchedule's builder and runner for it.

MetaSchedule's ``RPCRunner`` reaches devices only through a tracker (``RPCConfig`` needs tracker host,
port and key; ``connect_server`` asks the tracker for a session: tvm/s_tir/meta_schedule/runner/config.py).
So the controller runs ``tvm.rpc.tracker.Tracker`` (tvm/rpc/tracker.py, needs tornado) on the address the
device reaches it at, and the device's server (harness.compile.rpc_server) registers with it under a key
unique to this tune. Candidates are built on the controller: ``LocalBuilder``'s default export is a tar of
object files that the server would link with a compiler the device lacks (tvm/rpc/server.py
``load_module`` → tvm/runtime/module.py), so ``f_export`` links a shared library with the target's
(cross) g++, as ``hil compile`` does (harness.compile.tvm_backend).
"""

from __future__ import annotations

import functools
import os
import platform
import secrets
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from harness.compile.errors import CompileError
from harness.compile.targets import ResolvedTarget
from harness.compile.tvm_backend import LINK_OPTIONS
from harness.errors import FailureClass
from harness.primitives.progress import Say, quiet

#: Tracker ports tried on the controller (tvm/exec/rpc_tracker.py's defaults are 9190-9199).
TRACKER_PORTS = (9190, 9290)
#: One candidate's session: upload, load, fill, time. Under qemu a load alone takes seconds.
SESSION_TIMEOUT = 120
QEMU_REASON = "timings under qemu are not the board's; --allow-emulated runs it as a functional check"


def device_refusal(target: ResolvedTarget, device: str, device_arch: str, emulated: bool, *,
                   machine: str | None = None, allow_emulated: bool = False) -> str | None:
    """Why candidates for ``target`` cannot be timed on ``device``, or None when they can.

    An emulated core of the controller's own arch runs natively (a container); one of another arch runs
    under qemu-user, whose timings measure the emulator.
    """
    if device_arch != target.arch:
        return f"{target.neo} is {target.arch} code and {device} is {device_arch}"
    here = machine or platform.machine()
    if emulated and device_arch != here and not allow_emulated:
        return f"{device} is an emulated {device_arch} core on this {here} controller, run by qemu: {QEMU_REASON}"
    return None


def export_shared(mod, compiler: str) -> str:  # (tvm.runtime.Module, str) -> path
    """A candidate linked into a shared library with ``compiler``: the device loads it without a toolchain."""
    from tvm.support import cc

    path = os.path.join(tempfile.mkdtemp(prefix="hil-candidate-"), "candidate.so")
    mod.export_library(path, fcompile=cc.cross_compiler(compiler, options=LINK_OPTIONS))
    return path


def exporter(target: ResolvedTarget):  # -> Callable[[Module], str], picklable for the builder's workers
    return functools.partial(export_shared, compiler=target.compiler_command())


@dataclass
class RunningTracker:
    host: str
    port: int
    server: object  # tvm.rpc.tracker.Tracker

    def stop(self) -> None:
        """Stop the tracker (again: a no-op); pending session requests then fail at once."""
        try:
            self.server.terminate()
        except OSError:  # its stop request goes to 127.0.0.1, where a tracker on another address is not
            if self.server.proc is not None:
                self.server.proc.kill()
                self.server.proc = None


@contextmanager
def tracker(host: str, *, device: str, say: Say = quiet) -> Iterator[RunningTracker]:
    """A TVM RPC tracker on ``host`` (an address of this controller) for the ``with`` block."""
    try:
        from tvm.rpc.tracker import Tracker
    except ImportError as exc:
        raise CompileError(f"the TVM RPC tracker cannot start: {exc}", device=device, step="rpc tracker",
                           advice="pip install 'edge-hil[tune]' (tornado)") from None
    try:
        server = Tracker(host=host, port=TRACKER_PORTS[0], port_end=TRACKER_PORTS[1], silent=True)
    except (OSError, ValueError, RuntimeError) as exc:
        raise CompileError(f"the TVM RPC tracker cannot listen on {host}: {exc}", device=device,
                           step="rpc tracker", failure_class=FailureClass.UNREACHABLE,
                           advice="the controller must own the address the device reaches it at "
                                  "(a routed lab, or a board on the controller's LAN)") from None
    say(f"TVM RPC tracker on {host}:{server.port}")
    running = RunningTracker(host, server.port, server)
    try:
        yield running
    finally:
        running.stop()


def new_key(device: str) -> str:
    """A tracker key for this tune only: a stale server of another run never takes its sessions."""
    return f"hil-{''.join(c if c.isalnum() else '-' for c in device)}-{secrets.token_hex(4)}"


def registered(host: str, port: int, key: str) -> bool:
    """Whether the tracker at host:port lists a server under ``key``."""
    from tvm import rpc

    try:
        summary = rpc.connect_tracker(host, port).summary()
    except (OSError, RuntimeError):
        return False
    return any(item.get("key", "").split(":", 1)[-1] == key for item in summary.get("server_info", []))


def rpc_runner(host: str, port: int, key: str, evaluator_config, stop_file: str):  # -> ms.runner.RPCRunner
    """One session at a time: the device's server serves its sessions one after the other."""
    from tvm.s_tir import meta_schedule as ms

    from harness.compile.candidates import unless_stopped

    config = ms.runner.RPCConfig(tracker_host=host, tracker_port=port, tracker_key=key,
                                 session_timeout_sec=SESSION_TIMEOUT)
    session = functools.partial(unless_stopped, "s_tir.meta_schedule.runner.rpc_runner.default_create_session",
                                stop_file)
    return ms.runner.RPCRunner(rpc_config=config, evaluator_config=evaluator_config, max_workers=1,
                               f_create_session=session)
