"""The running set of components: builds each component's spec from the store and drives its Service.

Start order follows dependencies (a component starts once its HARD dependencies are RUNNING or FINISHED;
a SOFT dependency is not waited for, as in the nucleus); stop order is the reverse. A HARD dependency
that leaves RUNNING/FINISHED/STOPPING (a restart, a new version, an error) restarts its STARTING or RUNNING
dependers (GreengrassService.createDependencyListener); SOFT dependers are left alone. Orphaned process
groups of a killed nucleus are found by an environment marker and killed before anything starts again.
"""

from __future__ import annotations

import os
import pwd
import signal
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from simulators.greengrass.deadline import Deadline
from simulators.greengrass.errors import CircularDependency, GreengrassError
from simulators.greengrass.lifecycle import (
    DEPENDENCY_READY,
    SETTLED,
    Service,
    ServiceSpec,
    State,
    Timings,
)
from simulators.greengrass.logs import Logs
from simulators.greengrass.platforms import resolved_lifecycle, select_manifest
from simulators.greengrass.processes import ProcessTable
from simulators.greengrass.recipe import Step
from simulators.greengrass.release import NUCLEUS_VERSION
from simulators.greengrass.store import Store
from simulators.greengrass.variables import ComponentContext, interpolate

MARKER = "GG_EMU_ROOT"


@dataclass
class Settings:
    thing_name: str = "hil-core"
    region: str = "us-east-1"
    nucleus_version: str = NUCLEUS_VERSION
    run_as: str | None = "ggc_user:ggc_group"
    platform_override: dict[str, str] = field(default_factory=dict)
    timings: Timings = field(default_factory=Timings)
    settle: float = 2.0
    deployment_timeout: float = 600.0


def resolve_user(spec: str | None) -> tuple[int, int] | None:
    """uid/gid for `user[:group]`, only when the nucleus runs as root (host tests run as themselves)."""
    if not spec or os.geteuid() != 0:
        return None
    import grp

    user, _, group = spec.partition(":")
    try:
        pw = pwd.getpwnam(user)
        gid = grp.getgrnam(group).gr_gid if group else pw.pw_gid
    except KeyError:
        return None
    return pw.pw_uid, gid


def topo_order(deps: dict[str, list[str]]) -> list[str]:
    """Dependencies before dependents; raises CircularDependency on a cycle."""
    order: list[str] = []
    marks: dict[str, int] = {}

    def visit(n: str, path: list[str]) -> None:
        if marks.get(n) == 2:
            return
        if marks.get(n) == 1:
            raise CircularDependency("Circular dependency detected: " + " -> ".join(path + [n]))
        marks[n] = 1
        for d in sorted(deps.get(n, [])):
            if d in deps:
                visit(d, path + [n])
        marks[n] = 2
        order.append(n)

    for n in sorted(deps):
        visit(n, [])
    return order


class Kernel:
    def __init__(self, root: Path, settings: Settings, store: Store, logs: Logs, platform: dict[str, str]) -> None:
        self.root, self.settings, self.store, self.logs, self.platform = root, settings, store, logs, platform
        self.services: dict[str, Service] = {}
        self.changed = threading.Condition()
        # held while the set of services or a service's run changes (a deployment's apply step, a CLI request);
        # not while a deployment waits for its components to settle, so `component stop` acts meanwhile
        self.lock = threading.RLock()
        self._restarting: set[str] = set()  # dependers with a restart on its way (the nucleus dedupes them too)
        self.processes = ProcessTable()
        self.run_as = resolve_user(settings.run_as)

    # -- specs -----------------------------------------------------------------------------------
    def spec_for(self, name: str, components: dict[str, Any]) -> ServiceSpec:
        entry = components[name]
        recipe = self.store.load_recipe(name, entry["version"])
        if recipe is None:
            raise FileNotFoundError(f"recipe of {name}-{entry['version']} is missing from the component store")
        manifest = select_manifest(recipe, self.platform)
        steps, setenv = resolved_lifecycle(recipe, manifest)
        me = ComponentContext(name, entry["version"], entry["configuration"])
        deps = {d: ComponentContext(d, components[d]["version"], components[d]["configuration"])
                for d in recipe.dependencies if d in components}

        def fill(text: str) -> str:
            return interpolate(text, root=self.root, thing_name=self.settings.thing_name, me=me, deps=deps)

        steps = {k: Step(fill(s.script), s.timeout, {e: fill(v) for e, v in s.setenv.items()}, s.skipif,
                         s.requires_privilege) for k, s in steps.items()}
        env = {"PATH": os.environ.get("PATH", "/usr/local/bin:/usr/bin:/bin"), "LANG": "C.UTF-8",
               "AWS_IOT_THING_NAME": self.settings.thing_name, "AWS_REGION": self.settings.region,
               "AWS_DEFAULT_REGION": self.settings.region, MARKER: str(self.root)}
        run_as = self.run_as
        env["HOME"] = pwd.getpwuid(run_as[0]).pw_dir if run_as else os.environ.get("HOME", "/")
        return ServiceSpec(name, entry["version"], entry["configuration"],
                           {d: dep.kind for d, dep in recipe.dependencies.items()}, steps,
                           {e: fill(v) for e, v in setenv.items()}, self.root / "work" / name, env, run_as)

    # -- services --------------------------------------------------------------------------------
    def _deps_ready(self, spec: ServiceSpec) -> bool:
        """HARD dependencies RUNNING or FINISHED; a SOFT one may be in any state (GreengrassService.dependencyReady)."""
        return all(d not in self.services or self.services[d].state in SETTLED
                   for d, kind in spec.dependencies.items() if kind == "HARD")

    def _notify(self, service: Service) -> None:
        with self.changed:
            self.changed.notify_all()
        if service.state in DEPENDENCY_READY or self.services.get(service.spec.name) is not service:
            return
        for depender in list(self.services.values()):
            if depender.spec.dependencies.get(service.spec.name) == "HARD" \
                    and depender.state in (State.STARTING, State.RUNNING) \
                    and depender.spec.name not in self._restarting:
                self._restarting.add(depender.spec.name)
                threading.Thread(target=self._restart_depender, args=(depender, service.spec.name), daemon=True,
                                 name=f"dependency-restart-{depender.spec.name}").start()

    def _restart_depender(self, depender: Service, dependency: str) -> None:
        """GreengrassService.java:528-542: a HARD dependency in a bad state restarts its running depender."""
        with self.lock:
            try:
                if self.services.get(depender.spec.name) is not depender \
                        or depender.state not in (State.STARTING, State.RUNNING):
                    return  # replaced or stopped meanwhile (a deployment got the lock first)
                self.logs.main.write("INFO", "com.aws.greengrass.lifecyclemanager.GenericExternalService",
                                     "service-restart", f"Restarting service because dependency {dependency} was "
                                     f"in a bad state", serviceName=depender.spec.name)
                depender.request_restart()
            finally:
                self._restarting.discard(depender.spec.name)

    def request(self, op: str, names: list[str]) -> None:
        """`component restart`/`stop` of `names`, one after another as the CLI sends them."""
        with self.lock:
            for name in names:
                service = self.services.get(name)
                if service is None:
                    continue
                if op == "restart":
                    service.request_restart()
                else:
                    service.request_stop()

    def install(self, spec: ServiceSpec) -> Service:
        with self.lock:
            old = self.services.get(spec.name)
            if old is not None:
                old.stop()
            service = Service(spec, log=self.logs.component(spec.name), main_log=self.logs.main,
                              processes=self.processes, timings=self.settings.timings,
                              deps_ready=self._deps_ready, on_state=self._notify)
            self.services[spec.name] = service
            return service

    def stop(self, names: list[str]) -> None:
        """Stop `names`, dependents first."""
        with self.lock:
            graph = {n: list(s.spec.dependencies) for n, s in self.services.items()}
            for name in reversed(topo_order(graph)):
                if name in names and name in self.services:
                    self.services[name].stop()

    def remove(self, name: str) -> None:
        with self.lock:
            service = self.services.pop(name, None)
            if service is not None:
                service.stop()

    def start(self, names: list[str], install: bool = True) -> None:
        with self.lock:
            graph = {n: list(s.spec.dependencies) for n, s in self.services.items()}
            for name in topo_order(graph):
                if name in names:
                    self.services[name].start(install)

    def wait_settled(self, names: list[str], settle: float, timeout: float) -> str | None:
        """None once every name is RUNNING/FINISHED for `settle` seconds; else the first BROKEN name."""
        deadline = Deadline(timeout)
        stable: Deadline | None = None
        with self.changed:
            while True:
                states = {n: self.services[n].state for n in names if n in self.services}
                broken = sorted(n for n, s in states.items() if s == State.BROKEN)
                if broken:
                    return broken[0]
                if all(s in SETTLED for s in states.values()):
                    stable = stable or Deadline(settle)
                    if stable.expired:
                        return None
                else:
                    stable = None
                if deadline.expired:
                    return next((n for n, s in states.items() if s not in SETTLED), names[0] if names else "")
                self.changed.wait(min(0.05, max(deadline.remaining, 0.001)))

    def load(self, components: dict[str, Any]) -> None:
        """Start the committed components (at boot, or after an aborted deployment)."""
        with self.lock:
            self._load(components)

    def _load(self, components: dict[str, Any]) -> None:
        for name in components:
            try:
                self.install(self.spec_for(name, components))
            except (GreengrassError, OSError) as exc:
                self.logs.main.write("ERROR", "com.aws.greengrass.lifecyclemanager.Kernel", "service-load-failed",
                                     str(exc), serviceName=name)
        self.start(list(self.services))

    def shutdown(self) -> None:
        self.stop(list(self.services))


def kill_orphans(root: Path) -> int:
    """SIGKILL every process a previous nucleus of this root left behind (found by its environment marker)."""
    marker = f"{MARKER}={root}".encode()
    killed = 0
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            if marker in (entry / "environ").read_bytes().split(b"\0"):
                os.kill(int(entry.name), signal.SIGKILL)
                killed += 1
        except (OSError, ValueError):
            continue
    return killed
