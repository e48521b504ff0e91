"""TVM's RPC server on a lab device for the length of a tune: staged, started, registered, stopped.

The runtime tarball (harness.compile.rpc_runtime) goes to a private scratch dir on the device and is
unpacked there; ``python -m tvm.exec.rpc_server`` (tvm/exec/rpc_server.py) runs from it in its own
session (``setsid``), registering with the controller's tracker under ``key``. The tracker hands clients
``--custom-addr``, the device address the controller's SSH reached (``$SSH_CONNECTION``): the server's own
view of its peer may be a NAT's. Leaving the block (an error, Ctrl-C included) kills the server's process
group (the server forks a process per session, tvm/rpc/server.py ``_serving``) and removes the scratch dir.
"""

from __future__ import annotations

import shlex
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING

from harness.compile import rpc_runtime
from harness.errors import CommandTimeout, FailureClass, HilError, TransportError
from harness.primitives.deadline import Timeout
from harness.primitives.hostcmd import tail
from harness.primitives.progress import Say, quiet
from harness.primitives.scratch import scratch_dir

if TYPE_CHECKING:
    from harness.lab.device import Device
    from harness.transport.base import Transport

UPLOAD_TIMEOUT = 300.0
UNPACK_TIMEOUT = 300.0
#: ``import tvm`` (runtime only) and the server's start; minutes under qemu on a loaded controller.
REGISTER_TIMEOUT = 300.0
STOP_TIMEOUT = 30.0
STEP_TIMEOUT = 30.0
PORTS = (9090, 9199)
#: Seconds the server outlives the controller's last sign of life (``alive`` touched every LEASE/4 s).
LEASE = 120.0  # tvm/exec/rpc_server.py's defaults: the server takes the first free port


@dataclass(frozen=True)
class Endpoints:
    """Who reaches whom: the controller's address as the device sees it, and the device's as the controller does."""

    controller: str
    device: str


def endpoints(transport: Transport) -> Endpoints:
    """Both addresses of the link the transport uses: ``$SSH_CONNECTION`` over SSH, loopback on ``local://``."""
    if transport.scheme == "local":
        return Endpoints("127.0.0.1", "127.0.0.1")
    out = transport.check('printf %s "$SSH_CONNECTION"', timeout=STEP_TIMEOUT, step="rpc addresses").stdout.split()
    if len(out) != 4:
        raise TransportError(f"the {transport.scheme} transport gives no SSH_CONNECTION: the controller cannot tell "
                             f"which address the device reaches it at", device=transport.device,
                             step="rpc addresses", failure_class=FailureClass.UNREACHABLE,
                             advice="tune through TVM RPC on a device reached over ssh:// (or local://)")
    return Endpoints(controller=out[0], device=out[2])


def server_command(python: str, site: str, work: str, tracker: tuple[str, int], key: str, addr: str, *,
                   threads: int, lease: float = LEASE) -> str:
    """The shell line that starts the server in the background, in its own session, and records the
    session's process group id.

    A supervisor shell holds the server: while it runs, the controller touches ``alive`` (``serving``); a
    lease of ``lease`` seconds without a touch (the controller was killed, or lost the device) ends the
    session and removes ``work``, so a crashed tune leaves no open RPC server behind.
    """
    argv = [python, "-m", "tvm.exec.rpc_server", "--host", addr, "--port", str(PORTS[0]),
            "--port-end", str(PORTS[1]), "--tracker", f"{tracker[0]}:{tracker[1]}", "--key", key,
            "--custom-addr", addr, "--load-library", f"{site}/{rpc_runtime.EXTRA_LIBRARY}"]
    env = f"PYTHONPATH={shlex.quote(site)} TVM_USE_RUNTIME_LIB=1 TVM_NUM_THREADS={int(threads)} PYTHONUNBUFFERED=1"
    q = shlex.quote
    log, pid, alive = q(f"{work}/server.log"), q(f"{work}/server.pid"), q(f"{work}/alive")
    supervisor = (f"{env} {shlex.join(argv)} </dev/null >{log} 2>&1 & s=$!; "
                  f"while kill -0 $s 2>/dev/null; do sleep 5; "
                  f"[ $(( $(date +%s) - $(stat -c %Y {alive} 2>/dev/null || echo 0) )) -lt {int(lease)} ] "
                  f"&& continue; cd / && rm -rf {q(work)}; kill -TERM -$$; done")
    return (f"cd {q(work)} && touch {alive} && setsid sh -c {q(supervisor)} </dev/null >/dev/null 2>&1 & "
            f"echo $! >{pid}")


@contextmanager
def serving(device: Device, tracker: tuple[str, int], key: str, registered, *, threads: int, say: Say = quiet,
            timeout: float = REGISTER_TIMEOUT, lease: float = LEASE) -> Iterator[str]:
    """The device's RPC server, registered with ``tracker`` under ``key``, for the ``with`` block.

    ``registered()`` says whether the tracker lists the key yet (asked on the controller). The server times
    candidates with ``threads`` threads. Yields the device address the server listens on.
    """
    transport, name = device.transport, device.name
    machine = device.arch
    tarball = rpc_runtime.bundle(machine, say)
    with scratch_dir(transport, "rpc") as work:
        site = f"{work}/site"
        clock = Timeout(timeout)
        say(f"{name}: uploading the TVM runtime ({tarball.stat().st_size >> 20} MiB)")
        transport.put(tarball, f"{work}/runtime.tar.gz", timeout=UPLOAD_TIMEOUT)
        transport.check(f"mkdir {shlex.quote(site)} && tar -xzf {shlex.quote(work + '/runtime.tar.gz')} "
                        f"-C {shlex.quote(site)} && rm {shlex.quote(work + '/runtime.tar.gz')}",
                        timeout=UNPACK_TIMEOUT, step="rpc unpack")
        addr = endpoints(transport)
        transport.check(server_command(device.python, site, work, tracker, key, addr.device, threads=threads,
                                       lease=lease),
                        timeout=STEP_TIMEOUT, step="rpc server start")
        beating = _Heartbeat(transport, f"{work}/alive", lease / 4)
        try:
            _await_registration(transport, work, registered, clock)
            say(f"{name}: TVM RPC server on {addr.device} registered as {key} in {clock.elapsed:.1f} s")
            yield addr.device
        except BaseException:
            beating.stop()
            try:
                stop(transport, work)
            except HilError:
                pass  # the block's own error is the one to report; scratch_dir still removes the dir
            raise
        beating.stop()
        stop(transport, work)


class _Heartbeat:
    """Touches the server's ``alive`` file every ``interval`` s from a thread; a failed touch is retried at the
    next beat (a lease holds four)."""

    def __init__(self, transport: Transport, path: str, interval: float) -> None:
        self._transport, self._path, self._interval = transport, path, interval
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"rpc-lease-{transport.device}", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._done.wait(self._interval):
            try:
                self._transport.run(["touch", self._path], timeout=STEP_TIMEOUT)
            except HilError:
                pass

    def stop(self) -> None:
        self._done.set()
        self._thread.join(STEP_TIMEOUT + 5)


def _await_registration(transport: Transport, work: str, registered, clock: Timeout) -> None:
    """Wait until the tracker lists the server; a server that exits first is an error quoting its log."""
    pid = shlex.quote(f"{work}/server.pid")
    while not registered():
        alive = transport.run(f"kill -0 $(cat {pid})", timeout=STEP_TIMEOUT)
        if not alive.ok:
            raise TransportError(f"the TVM RPC server exited before registering: {tail(_log(transport, work), 5)}",
                                 device=transport.device, step="rpc server start",
                                 advice="the device's Python must import the staged TVM runtime (glibc >= 2.28)")
        if clock.expired:
            raise CommandTimeout(f"the TVM RPC server did not register with the controller's tracker in "
                                 f"{clock.seconds:g} s: {tail(_log(transport, work), 3)}", device=transport.device,
                                 step="rpc server start",
                                 advice="the device must reach the controller's tracker port (firewall?)")
        clock.sleep(1.0)


def _log(transport: Transport, work: str) -> str:
    try:
        return transport.run(["tail", "-n", "20", f"{work}/server.log"], timeout=STEP_TIMEOUT).stdout
    except HilError as exc:
        return f"(log unreadable: {exc.detail})"


def stop(transport: Transport, work: str) -> None:
    """Kill the server's process group: TERM, then KILL after 5 s; a group still alive is an error (scratch_dir
    removes the dir after)."""
    pid = shlex.quote(f"{work}/server.pid")
    # `kill -SIG -PGID`, no `--`: dash's kill (Debian's sh) takes `--` for a number and fails.
    line = (f"p=$(cat {pid} 2>/dev/null) || exit 0; kill -TERM -$p 2>/dev/null; "
            f"for i in 1 2 3 4 5 6 7 8 9 10; do kill -0 -$p 2>/dev/null || exit 0; sleep 0.5; done; "
            f"kill -KILL -$p 2>/dev/null; sleep 0.5; ! kill -0 -$p 2>/dev/null")
    transport.check(line, timeout=STOP_TIMEOUT, step="rpc server stop")
