"""One component's lifecycle as an explicit state machine running its scripts with `sh -c`.

NEW → INSTALLED → STARTING → RUNNING/FINISHED; a failing step goes to ERRORED, runs Recover and retries.
As the nucleus's Lifecycle.reportState (v2.18.2 Lifecycle.java:227-255) counts them: errors are counted per
state they happened in, a state left without an error forgets its count, an error more than
`error_reset` (1 h) after the previous one starts the count again, and the third goes straight to BROKEN
(no Recover). BROKEN lasts until a new deployment: `component restart` and `stop` leave it BROKEN
(Lifecycle.handleCurrentStateBroken, v2.18.2 Lifecycle.java:460-516).
Every script runs in its own process group (killed whole on timeout or stop), as the component user
unless the step RequiresPrivilege.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path

from simulators.greengrass.deadline import poll_until
from simulators.greengrass.logs import LogFile
from simulators.greengrass.processes import ProcessTable, kill_group
from simulators.greengrass.recipe import Step


class State(StrEnum):
    NEW = "NEW"
    INSTALLED = "INSTALLED"
    STARTING = "STARTING"
    RUNNING = "RUNNING"
    STOPPING = "STOPPING"
    ERRORED = "ERRORED"
    BROKEN = "BROKEN"
    FINISHED = "FINISHED"


# transitions the nucleus allows; anything else is a bug in the emulator, not in a component
TRANSITIONS: dict[State, set[State]] = {
    State.NEW: {State.INSTALLED, State.ERRORED, State.STOPPING, State.FINISHED, State.BROKEN},
    State.INSTALLED: {State.NEW, State.STARTING, State.STOPPING, State.ERRORED, State.FINISHED, State.BROKEN},
    State.STARTING: {State.RUNNING, State.FINISHED, State.ERRORED, State.STOPPING, State.BROKEN},
    State.RUNNING: {State.FINISHED, State.ERRORED, State.STOPPING, State.BROKEN},
    State.STOPPING: {State.FINISHED, State.ERRORED, State.NEW, State.INSTALLED},
    State.ERRORED: {State.NEW, State.INSTALLED, State.BROKEN, State.STOPPING, State.FINISHED},
    State.BROKEN: {State.NEW, State.INSTALLED, State.STOPPING, State.FINISHED},
    State.FINISHED: {State.NEW, State.INSTALLED, State.STOPPING, State.ERRORED},
}
SETTLED = (State.RUNNING, State.FINISHED)
# a HARD dependency in these states does not make its dependers restart (GreengrassService.java:612-626)
DEPENDENCY_READY = (State.RUNNING, State.FINISHED, State.STOPPING)


@dataclass
class Timings:
    retry_delay: float = 1.0
    broken_after: int = 3
    stop_grace: float = 5.0
    error_reset: float = 3600.0


@dataclass
class ServiceSpec:
    """Everything needed to run one component version, variables already interpolated."""

    name: str
    version: str
    configuration: dict
    dependencies: dict[str, str]  # name -> HARD/SOFT
    steps: dict[str, Step]
    setenv: dict[str, str]
    work_dir: Path
    env: dict[str, str] = field(default_factory=dict)
    run_as: tuple[int, int] | None = None  # (uid, gid); None = the nucleus's own user


class Service:
    """A running component: its state machine and the worker thread that drives its scripts."""

    def __init__(self, spec: ServiceSpec, *, log: LogFile, main_log: LogFile, processes: ProcessTable,
                 timings: Timings, deps_ready: Callable[[ServiceSpec], bool],
                 on_state: Callable[[Service], None]) -> None:
        self.spec = spec
        self.state = State.NEW
        self.errors = 0
        self.last_error = ""
        self._errored: dict[State, list[float]] = {}  # errors by the state they happened in
        self._log, self._main, self._processes, self._timings = log, main_log, processes, timings
        self._deps_ready, self._on_state = deps_ready, on_state
        self._lock = threading.RLock()
        self._stop = threading.Event()
        self._stop_after_install = False  # a stop request that came while Install ran
        self._thread: threading.Thread | None = None

    # -- state machine ---------------------------------------------------------------------------
    def _set(self, new: State, *, worker: bool = True) -> None:
        with self._lock:
            if worker and self._stop.is_set():
                return  # a stop request owns the state from here on
            old = self.state
            if new == old:
                return
            if new not in TRANSITIONS[old]:
                raise RuntimeError(f"illegal lifecycle transition {old} -> {new} for {self.spec.name}")
            if new not in (State.ERRORED, State.BROKEN):
                self._errored.pop(old, None)  # left without an error: its count starts again
            self.state = new
        self._main.write("INFO", "com.aws.greengrass.lifecyclemanager.GenericExternalService", "service-set-state",
                         serviceName=self.spec.name, currentState=old, newState=new)
        self._on_state(self)

    # -- control (called from other threads) ----------------------------------------------------
    def start(self, install: bool = True) -> None:
        """Run the lifecycle (Install unless `install` is False) in a fresh worker thread."""
        self.join()
        with self._lock:
            self._stop.clear()
            self._stop_after_install = False
            self.errors = 0
            self._errored.clear()
            self._set(State.NEW if install else State.INSTALLED, worker=False)
            self._thread = threading.Thread(target=self._worker, args=(install,), daemon=True,
                                            name=f"lifecycle-{self.spec.name}")
            self._thread.start()

    def stop(self) -> None:
        """Shutdown script, then the whole process groups; ends FINISHED."""
        with self._lock:
            self._stop.set()  # under the lock: the worker cannot spawn a script after this
            was = self.state
            if was not in (State.FINISHED, State.STOPPING):
                self._set(State.STOPPING, worker=False)
        if was in (State.RUNNING, State.STARTING, State.ERRORED) and "Shutdown" in self.spec.steps:
            self._run_step("Shutdown", self.spec.steps["Shutdown"], stopping=True)
        for proc in self._processes.of(self.spec.name):
            kill_group(proc, self._timings.stop_grace)
            self._processes.discard(proc.pid)
        self.join()
        with self._lock:
            if self.state != State.FINISHED:
                self._set(State.FINISHED, worker=False)

    def request_stop(self) -> None:
        """`component stop`, per state as the nucleus's lifecycle thread takes it (Lifecycle.java:982-995)."""
        state = self._settled_from_errored()
        with self._lock:
            if state == State.BROKEN:
                self._broken_ignores("stop")
                return
            if self._thread is None:
                return  # not started yet (a deployment is about to start it)
            if state == State.NEW and self._working():
                self._stop_after_install = True  # Install runs to its end, then FINISHED (Lifecycle.java:519-555)
                return
            if state == State.INSTALLED and self._working():
                self._stop.set()  # waiting for dependencies: FINISHED at once, no Shutdown (Lifecycle.java:558-566)
                self._set(State.FINISHED, worker=False)
                return
        self.stop()

    def request_restart(self) -> None:
        """`component restart` (Lifecycle.java:953-977): stop, then start again without Install."""
        state = self._settled_from_errored()
        with self._lock:
            if state == State.BROKEN:
                self._broken_ignores("restart")
                return
            if self._thread is None:
                return  # never started: nothing to restart (Lifecycle.java:959-963)
            if state in (State.NEW, State.INSTALLED) and self._working():
                self._stop_after_install = False  # not started yet: it goes on and starts
                return
        self.stop()
        self.start(install=False)

    def _working(self) -> bool:
        return self._thread is not None and self._thread.is_alive() and not self._stop.is_set()

    def _settled_from_errored(self) -> State:
        """A request that comes during ERRORED waits for Recover and the retry to begin."""
        recover = self.spec.steps.get("Recover")
        limit = ((recover.timeout or 60.0) if recover else 0.0) + self._timings.retry_delay + 5.0
        poll_until(lambda: self.state != State.ERRORED, limit)
        return self.state

    def _broken_ignores(self, request: str) -> None:
        self._main.write("ERROR", "com.aws.greengrass.lifecyclemanager.GenericExternalService", "service-broken",
                         "service is broken. Deployment is needed", serviceName=self.spec.name, request=request)

    def bootstrap(self) -> int | None:
        """Run the Bootstrap step (new or changed version only); None when there is none."""
        step = self.spec.steps.get("Bootstrap")
        if step is None or self._skip(step):
            return None
        return self._run_step("Bootstrap", step)

    def join(self, timeout: float = 30.0) -> None:
        t = self._thread
        if t is not None and t is not threading.current_thread():
            t.join(timeout)

    # -- worker ----------------------------------------------------------------------------------
    def _worker(self, install: bool) -> None:
        phase = "install" if install else "start"
        while not self._stop.is_set():
            failed = self._install() if phase == "install" else self._start()
            if self._stop.is_set():
                return
            if failed is None:
                with self._lock:
                    if self._stop_after_install:
                        self._stop.set()
                        self._set(State.FINISHED, worker=False)
                        return
                phase = "start"
                continue
            if failed == "":
                return  # settled (RUNNING after Startup, or FINISHED); stays until stopped
            if self._error(failed) or self._stop.wait(self._timings.retry_delay):
                return
            self._set(State.NEW if phase == "install" else State.INSTALLED)

    def _install(self) -> str | None:
        step = self.spec.steps.get("Install")
        if step is not None and not self._skip(step):
            rc = self._run_step("Install", step)
            if rc != 0:
                return f"Install step failed ({_describe(rc)})"
        if not self._stop.is_set():
            self._set(State.INSTALLED)
        return None

    def _start(self) -> str:
        while not self._deps_ready(self.spec):
            if self._stop.wait(0.05):
                return ""
        self._set(State.STARTING)
        startup, run = self.spec.steps.get("Startup"), self.spec.steps.get("Run")
        if startup is not None and not self._skip(startup):
            rc = self._run_step("Startup", startup)
            if rc != 0:
                return f"Startup step failed ({_describe(rc)})"
            self._set(State.RUNNING)
            return ""
        if run is not None and not self._skip(run):
            proc = self._spawn("Run", run)
            if proc is None:
                return "Run step could not be started"
            self._set(State.RUNNING)
            rc = self._wait(proc, run.timeout)
            if self._stop.is_set():
                return ""
            if rc == 0:
                self._set(State.FINISHED)
                return ""
            return f"Run step failed ({_describe(rc)})"
        self._set(State.FINISHED)
        return ""

    def _error(self, reason: str) -> bool:
        """ERRORED and Recover, or BROKEN at the third error in one state; True when the worker should end."""
        now = time.monotonic()
        times = self._errored.setdefault(self.state, [])
        if times and now - times[-1] >= self._timings.error_reset:
            times.clear()
        times.append(now)
        self.errors = len(times)
        self.last_error = reason
        self._main.write("ERROR", "com.aws.greengrass.lifecyclemanager.GenericExternalService", "service-errored",
                         reason, serviceName=self.spec.name, errorCount=self.errors)
        broken = self.errors >= self._timings.broken_after
        was = self.state
        self._set(State.BROKEN if broken else State.ERRORED)
        if broken and was in (State.STARTING, State.RUNNING) and "Shutdown" in self.spec.steps:
            self._run_step("Shutdown", self.spec.steps["Shutdown"])  # Lifecycle.java:460-490
        for proc in self._processes.of(self.spec.name):
            kill_group(proc, self._timings.stop_grace)
            self._processes.discard(proc.pid)
        if broken:
            return True
        recover = self.spec.steps.get("Recover")
        if recover is not None and not self._skip(recover):
            self._run_step("Recover", recover)
        return False

    # -- processes -------------------------------------------------------------------------------
    def _skip(self, step: Step) -> bool:
        if not step.skipif:
            return False
        kind, _, arg = step.skipif.partition(" ")
        arg = arg.strip()
        return shutil.which(arg) is not None if kind == "onpath" else os.path.exists(arg)

    def _spawn(self, name: str, step: Step, stopping: bool = False) -> subprocess.Popen | None:
        with self._lock:
            if self._stop.is_set() and not stopping:
                return None  # a stop request came first; its kill loop would miss this process
            return self._popen(name, step)

    def _popen(self, name: str, step: Step) -> subprocess.Popen | None:
        spec = self.spec
        env = {**spec.env, **spec.setenv, **step.setenv}
        user = None if step.requires_privilege else spec.run_as
        spec.work_dir.mkdir(parents=True, exist_ok=True)
        if spec.run_as and spec.work_dir.stat().st_uid != spec.run_as[0]:
            os.chown(spec.work_dir, *spec.run_as)  # the component user owns its work directory
        try:
            proc = subprocess.Popen(
                ["/bin/sh", "-c", step.script], cwd=spec.work_dir, env=env, stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True,
                user=user[0] if user else None, group=user[1] if user else None,
                extra_groups=[] if user else None)
        except OSError as exc:
            self._main.write("ERROR", "com.aws.greengrass.lifecyclemanager.GenericExternalService",
                             "shell-runner-start-failed", str(exc), serviceName=spec.name, step=name)
            return None
        self._processes.add(proc, spec.name)
        script = f"services.{spec.name}.lifecycle.{name}"
        for stream, level, label in ((proc.stdout, "INFO", "stdout"), (proc.stderr, "WARN", "stderr")):
            threading.Thread(target=self._copy, args=(stream, level, label, script), daemon=True,
                             name="Copier").start()
        return proc

    def _copy(self, stream, level: str, label: str, script: str) -> None:  # type: ignore[no-untyped-def]
        for raw in iter(stream.readline, b""):
            self._log.write(level, self.spec.name, label, raw.decode(errors="replace").rstrip("\n"),
                            scriptName=script, serviceName=self.spec.name, currentState=self.state)
        stream.close()

    def _wait(self, proc: subprocess.Popen, timeout: float | None) -> int:
        try:
            rc = proc.wait(timeout)
        except subprocess.TimeoutExpired:
            try:
                os.killpg(proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            proc.wait()
            rc = -9999  # marks a timeout
        try:  # a Startup step may leave daemons in its group; only forget groups that are empty
            os.killpg(proc.pid, 0)
        except ProcessLookupError:
            self._processes.discard(proc.pid)
        return rc

    def _run_step(self, name: str, step: Step, stopping: bool = False) -> int:
        proc = self._spawn(name, step, stopping)
        if proc is None:
            return 127
        rc = self._wait(proc, step.timeout)
        if rc == -9999:
            self._main.write("ERROR", "com.aws.greengrass.lifecyclemanager.GenericExternalService",
                             "service-step-timeout", f"{name} timed out after {step.timeout:g}s",
                             serviceName=self.spec.name)
        return rc


def _describe(rc: int) -> str:
    if rc == -9999:
        return "timed out"
    if rc < 0:
        return f"killed by signal {-rc}"
    return f"exit code {rc}"
