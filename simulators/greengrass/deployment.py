"""Local deployments: resolve, prepare, apply, wait, then commit — or roll back — with a crash journal.

`config/state.json` (written atomically) is the commit point. Before it, the journal holds the previous
state, so a nucleus killed at any step comes back with the whole old set; after it, with the whole new
set. `GG_CRASH_AT=<step>` (one of CRASH_STEPS) makes the nucleus SIGKILL itself at that step, so tests
can prove this for every step.
"""

from __future__ import annotations

import copy
import os
import queue
import shutil
import signal
import threading
import time
import uuid
from pathlib import Path
from typing import Any

from simulators.greengrass import artifacts
from simulators.greengrass.configuration import next_configuration
from simulators.greengrass.document import DeploymentDocument, parse_document
from simulators.greengrass.errors import (
    BootstrapError,
    ComponentBroken,
    CopyError,
    DocumentError,
    GreengrassError,
    Interrupted,
    RecipeError,
    ResourceNotFound,
)
from simulators.greengrass.kernel import Kernel, resolve_user, topo_order
from simulators.greengrass.lifecycle import State
from simulators.greengrass.platforms import select_manifest
from simulators.greengrass.recipe import Recipe, parse_recipe
from simulators.greengrass.resolution import bootstrap_required, pick, reachable, rotated_previous, versions_to_keep
from simulators.greengrass.semver import Requirement
from simulators.greengrass.store import Store

CRASH_STEPS = ("journalled", "resolved", "prepared", "stopped", "started", "settled", "committed", "finished")
_EARLY = ("journalled", "resolved", "prepared")  # nothing on the core has changed yet
LOGGER = "com.aws.greengrass.deployment.DeploymentService"


def _now_ms() -> int:
    return int(time.time() * 1000)


class DeploymentService:
    """The nucleus's deployment service: a queue of local deployments, run one at a time."""

    def __init__(self, kernel: Kernel, store: Store, lock: threading.RLock, crash_at: str | None = None) -> None:
        self.kernel, self.store, self.lock, self.crash_at = kernel, store, lock, crash_at
        self.log = kernel.logs.main
        self.queue: queue.Queue[str] = queue.Queue()
        self.records_lock = threading.Lock()  # QUEUED -> IN_PROGRESS/CANCELED is decided under it

    # -- submission ------------------------------------------------------------------------------
    def submit(self, raw: dict[str, Any]) -> str:
        doc = parse_document(raw)
        deployment_id = str(uuid.uuid4())
        inputs = [(Path(src), sub) for src, sub in ((doc.recipe_dir, "recipes"), (doc.artifact_dir, "artifacts"))
                  if src is not None]
        for src, sub in inputs:
            if not src.is_dir():
                raise DocumentError(f"{'--recipeDir' if sub == 'recipes' else '--artifactDir'} {src} "
                                    f"is not a directory")
        staging = self.store.staging(deployment_id)
        record = {"deploymentId": deployment_id, "createdOn": _now_ms(), "status": "QUEUED", "document": doc.to_json()}
        try:
            for src, sub in inputs:
                store = self.store.recipes if sub == "recipes" else self.store.artifacts
                artifacts.stage_tree(src, staging / sub, store, recipes=sub == "recipes")
        except CopyError as exc:  # accepted; the deployment fails when it runs (DeploymentService.java:629-643)
            shutil.rmtree(staging, ignore_errors=True)
            record["copyError"] = _err(exc)
        self.store.write_record(record)
        self.log.write("INFO", LOGGER, "local-deployment-submitted", deploymentId=deployment_id)
        self.queue.put(deployment_id)
        return deployment_id

    def cancel(self, deployment_id: str) -> str:
        """CLIEventStreamAgent.CancelLocalDeploymentHandler's answers; a QUEUED deployment never starts.

        Cancelling one that has started is refused (the real nucleus tries to interrupt it)."""
        with self.records_lock:
            record = self.store.record(deployment_id)
            if record is None:
                raise ResourceNotFound(f"Cannot find the deployment id provided {deployment_id}")
            if record["status"] not in ("QUEUED", "IN_PROGRESS"):
                return "Cancellation request is not processed because deployment is already finished"
            if record["status"] == "IN_PROGRESS":
                raise GreengrassError(f"Deployment {deployment_id} is IN_PROGRESS: the emulated nucleus cannot "
                                      f"cancel a deployment that has started")
            record["status"] = "CANCELED"
            self.store.write_record(record)
            shutil.rmtree(self.store.staging(deployment_id), ignore_errors=True)
        self.log.write("INFO", LOGGER, "local-deployment-canceled", deploymentId=deployment_id)
        return f"Cancel request submitted. Deployment ID: {deployment_id}"

    def worker(self) -> None:
        while True:
            deployment_id = self.queue.get()
            with self.lock:
                try:
                    self.run(deployment_id)
                except Exception as exc:  # noqa: BLE001 - an emulator bug must not kill the deployment queue
                    self.log.write("ERROR", LOGGER, "deployment-internal-error", f"{type(exc).__name__}: {exc}",
                                   deploymentId=deployment_id)
                    self.kernel.shutdown()
                    self.kernel.services.clear()
                    self.recover(f"internal error {type(exc).__name__}: {exc}")
                    self.kernel.load(self.store.committed()["components"])

    # -- the deployment --------------------------------------------------------------------------
    def _crash(self, step: str) -> None:
        if self.crash_at == step:
            self.log.write("WARN", LOGGER, "emulator-crash-at", f"SIGKILL at step {step}", step=step)
            os.kill(os.getpid(), signal.SIGKILL)

    def _journal(self, journal: dict[str, Any], phase: str) -> None:
        journal["phase"] = phase
        self.store.write_journal(journal)
        self._crash(phase)

    def run(self, deployment_id: str) -> None:
        with self.records_lock:
            record = self.store.record(deployment_id)
            if record is None or record["status"] != "QUEUED":
                return
            if "copyError" in record:  # nothing was staged: fails before the deployment task runs, no clean-up
                error = record.pop("copyError")
                self.log.write("ERROR", LOGGER, "deployment-failed", error["failureCause"], deploymentId=deployment_id)
                self._finish(record, "FAILED_NO_STATE_CHANGE", CopyError(
                    error["failureCause"], stack=tuple(error["errorStack"]), types=tuple(error["errorTypes"])),
                    cleanup=False)
                return
            doc = parse_document(record["document"])
            previous = self.store.committed()
            journal: dict[str, Any] = {"deploymentId": deployment_id, "previous": previous, "backups": {}}
            self.store.write_journal({**journal, "phase": "journalled"})
            record["status"] = "IN_PROGRESS"
            self.store.write_record(record)
        self.log.write("INFO", LOGGER, "deployment-task-execution", "Start deployment task", deploymentId=deployment_id)
        self._crash("journalled")
        target: dict[str, Any] | None = None
        try:
            target = self._resolve(deployment_id, doc, previous, journal)
            journal["target"] = target
            self._journal(journal, "resolved")
            self._prepare(deployment_id, target, previous)
            self._journal(journal, "prepared")
        except GreengrassError as exc:
            self._restore_backups(journal)
            self._finish(record, "FAILED_NO_STATE_CHANGE", exc, tried=target)
            return
        changed, removed = self._plan(previous, target)
        try:
            self._apply(target, changed, removed, journal)
            broken = self.kernel.wait_settled(list(target["components"]), self.kernel.settings.settle,
                                              self.kernel.settings.deployment_timeout)
            if broken:
                service = self.kernel.services.get(broken)
                if service is not None and service.state == State.BROKEN:
                    raise ComponentBroken(f"Service {broken} in broken state after deployment")
                raise ComponentBroken(f"Service {broken} did not reach RUNNING or FINISHED in time",
                                      stack=("DEPLOYMENT_FAILURE", "COMPONENT_UPDATE_ERROR"))
            self._journal(journal, "settled")
        except GreengrassError as exc:
            self._failed(record, doc, journal, previous, target, changed, removed, exc)
            return
        journal["outcome"] = {"detailed": "SUCCESSFUL"}
        self.store.write_journal(journal)
        self.store.commit(target)
        self._crash("committed")
        self._finish(record, "SUCCESSFUL", None)

    def _failed(self, record: dict, doc: DeploymentDocument, journal: dict, previous: dict, target: dict,
                changed: list[str], removed: list[str], exc: GreengrassError) -> None:
        self.log.write("ERROR", LOGGER, "deployment-failed", exc.message, deploymentId=record["deploymentId"],
                       policy=doc.failure_policy)
        if doc.failure_policy == "DO_NOTHING":
            journal["outcome"] = {"detailed": "FAILED_ROLLBACK_NOT_REQUESTED", "error": _err(exc)}
            self.store.write_journal(journal)
            self.store.commit(target)
            self._finish(record, "FAILED_ROLLBACK_NOT_REQUESTED", exc, tried=target)
            return
        self._journal(journal, "rolling-back")
        detailed = self._rollback(previous, target, changed, removed, journal)
        self._finish(record, detailed, exc, tried=target)

    # -- steps -----------------------------------------------------------------------------------
    def _staged_recipes(self, deployment_id: str) -> list[tuple[Recipe, str]]:
        out = []
        recipe_dir = self.store.staging(deployment_id) / "recipes"
        for path in sorted(recipe_dir.rglob("*")) if recipe_dir.exists() else []:
            fmt = {".yaml": "yaml", ".yml": "yaml", ".json": "json"}.get(path.suffix.lower())
            if fmt is None or not path.is_file():
                continue
            try:
                out.append((parse_recipe(path.read_text(errors="replace"), fmt), fmt))
            except RecipeError as exc:
                raise type(exc)(f"Recipe file {path.name}: {exc.message}") from None
        return out

    def _resolve(self, deployment_id: str, doc: DeploymentDocument, previous: dict, journal: dict) -> dict:
        for recipe, fmt in self._staged_recipes(deployment_id):
            existing = self.store.recipe_path(recipe.name, str(recipe.version), fmt)
            if recipe.name in previous["components"] and existing.is_file():
                journal["backups"][str(existing)] = existing.read_text()
            self.store.write_journal({**journal, "phase": "journalled"})
            self.store.save_recipe(recipe, fmt)
        groups = copy.deepcopy(previous["groups"])
        mine = groups.setdefault(doc.group, {})
        for name in doc.remove:
            mine.pop(name, None)
        mine.update(doc.merge)
        groups = {g: roots for g, roots in groups.items() if roots}
        requirements: dict[str, list[tuple[str, Requirement]]] = {}
        for group, roots in sorted(groups.items()):
            for name, version in roots.items():
                requirements.setdefault(name, []).append((group, Requirement.parse(f"={version}")))
        chosen: dict[str, Recipe] = {}
        for _ in range(64):
            stable = True
            for name, reqs in list(requirements.items()):
                recipe = pick(self.store, name, reqs, previous)
                if name not in chosen or chosen[name].version != recipe.version:
                    chosen[name] = recipe
                    stable = False
                    for dep, spec in recipe.dependencies.items():
                        reqs_of_dep = [r for r in requirements.get(dep, []) if r[0] != name]
                        requirements[dep] = reqs_of_dep + [(name, spec.requirement)]
            if stable:
                break
        needed = reachable(groups, chosen)
        topo_order({n: list(chosen[n].dependencies) for n in needed})  # raises on a cycle
        components = {}
        for name in sorted(needed):
            recipe = chosen[name]
            old = previous["components"].get(name)
            config = next_configuration(old["configuration"] if old else None, recipe.default_config,
                                        doc.config_update.get(name))
            components[name] = {"version": str(recipe.version), "configuration": config,
                                "root": any(name in roots for roots in groups.values())}
            previous_version = rotated_previous(old, str(recipe.version))
            if previous_version:
                components[name]["previousVersion"] = previous_version
        for name in sorted(set(doc.config_update) - set(components)):
            self.log.write("WARN", LOGGER, "config-update-ignored",
                           f"--update-config names {name}, which is not in the deployment", deploymentId=deployment_id)
        return {"groups": groups, "components": components}

    def _prepare(self, deployment_id: str, target: dict, previous: dict) -> None:
        source = self.store.staging(deployment_id) / "artifacts"
        owner = resolve_user(self.kernel.settings.run_as)
        for name, entry in target["components"].items():
            recipe = self.store.load_recipe(name, entry["version"])
            assert recipe is not None
            manifest = select_manifest(recipe, self.kernel.platform)
            artifacts.prepare(recipe, manifest, source if source.is_dir() else None, self.kernel.root, owner)

    def _plan(self, previous: dict, target: dict) -> tuple[list[str], list[str]]:
        """Components to (re)start (new, changed, broken, or a HARD dependency changed) and to remove."""
        prev, new = previous["components"], target["components"]
        changed = {n for n, e in new.items()
                   if n not in prev or prev[n]["version"] != e["version"]
                   or prev[n]["configuration"] != e["configuration"]
                   or (n in self.kernel.services and self.kernel.services[n].state in (State.BROKEN, State.ERRORED))}
        grew = True
        while grew:
            grew = False
            for n in new:
                if n in changed:
                    continue
                recipe = self.store.load_recipe(n, new[n]["version"])
                if recipe and any(d in changed and dep.kind == "HARD" for d, dep in recipe.dependencies.items()):
                    changed.add(n)
                    grew = True
        return sorted(changed), sorted(set(prev) - set(new))

    def _apply(self, target: dict, changed: list[str], removed: list[str], journal: dict) -> None:
        with self.kernel.lock:  # a CLI restart/stop waits for the new set to be in place
            self._apply_locked(target, changed, removed, journal)

    def _apply_locked(self, target: dict, changed: list[str], removed: list[str], journal: dict) -> None:
        self.kernel.stop([n for n in changed if n in self.kernel.services] + removed)
        for name in removed:
            self.kernel.remove(name)
        self._journal(journal, "stopped")
        comps = target["components"]
        for name in changed:
            old = self.kernel.services.get(name)
            spec = self.kernel.spec_for(name, comps)
            service = self.kernel.install(spec)
            if not bootstrap_required(old.spec if old else None, spec):
                continue
            rc = service.bootstrap()
            if rc not in (None, 0, 100, 101):
                raise BootstrapError(f"Service {name} Bootstrap step failed with exit code {rc}")
            if rc is not None:
                self.log.write("WARN", LOGGER, "bootstrap-restart-not-emulated",
                               f"Bootstrap of {name} exited {rc}: the real nucleus now restarts itself (exit 0 or "
                               f"100) or the device (101), restarting every component; the emulated nucleus "
                               f"goes on to Install without restarting", serviceName=name, exitCode=rc)
        self.kernel.start(changed)
        self._journal(journal, "started")

    def _rollback(self, previous: dict, target: dict, changed: list[str], removed: list[str],
                  journal: dict) -> str:
        prev = previous["components"]
        restore = [n for n in prev if n in changed or n in removed]
        with self.kernel.lock:
            self.kernel.stop([n for n in changed if n in self.kernel.services])
            for name in [n for n in target["components"] if n not in prev]:
                self.kernel.remove(name)
            self._restore_backups(journal)
            try:
                for name in restore:
                    self.kernel.install(self.kernel.spec_for(name, prev))
                self.kernel.start(restore)
            except (GreengrassError, OSError) as exc:
                self.log.write("ERROR", LOGGER, "rollback-failed", str(exc))
                return "FAILED_UNABLE_TO_ROLLBACK"
        broken = self.kernel.wait_settled(list(prev), self.kernel.settings.settle,
                                          self.kernel.settings.deployment_timeout)
        return "FAILED_UNABLE_TO_ROLLBACK" if broken else "FAILED_ROLLBACK_COMPLETE"

    def _restore_backups(self, journal: dict) -> None:
        for path, text in journal.get("backups", {}).items():
            Path(path).write_text(text)

    def _finish(self, record: dict, detailed: str, exc: GreengrassError | None, cleanup: bool = True,
                tried: dict[str, Any] | None = None) -> None:
        """Clean up, then publish the final status (so a client that sees it also sees the cleaned store).

        A failed deployment keeps the versions it tried as well (DefaultDeploymentTask.java:246-261)."""
        shutil.rmtree(self.store.staging(record["deploymentId"]), ignore_errors=True)
        if cleanup:
            keep = versions_to_keep(self.store.committed())
            for name, entry in (tried or {}).get("components", {}).items() if detailed != "SUCCESSFUL" else ():
                keep.setdefault(name, set()).add(entry["version"])
            self.store.remove_stale(keep)
        record.update({"status": "SUCCEEDED" if detailed == "SUCCESSFUL" else "FAILED",
                       "detailedStatus": detailed, **_err(exc)})
        self.store.write_record(record)
        self.log.write("INFO" if exc is None else "ERROR", LOGGER, "deployment-finished",
                       deploymentId=record["deploymentId"], detailedStatus=detailed)
        self._crash("finished")
        self.store.clear_journal()

    # -- recovery after a crash -------------------------------------------------------------------
    def recover(self, reason: str = "the nucleus stopped") -> None:
        """Finish what a killed nucleus left: journal → whole old or whole new; requeue queued work."""
        journal = self.store.journal()
        if journal is not None:
            record = self.store.record(journal["deploymentId"]) or {
                "deploymentId": journal["deploymentId"], "createdOn": _now_ms(), "document": {}}
            outcome = journal.get("outcome")
            committed = self.store.committed()
            if outcome and committed == journal.get("target"):
                error = outcome.get("error")
                exc = GreengrassError(error["failureCause"], stack=tuple(error["errorStack"]),
                                      types=tuple(error["errorTypes"])) if error else None
                self._finish(record, outcome["detailed"], exc, cleanup=False)
            else:
                self._restore_backups(journal)
                phase = journal.get("phase", "journalled")
                detailed = "FAILED_NO_STATE_CHANGE" if phase in _EARLY else "FAILED_ROLLBACK_COMPLETE"
                self._finish(record, detailed, Interrupted(
                    f"Deployment interrupted: {reason} during step '{phase}'; "
                    f"the previous components and configuration were restored"), cleanup=False)
        for record in self.store.records():
            if record["status"] == "IN_PROGRESS":
                self._finish(record, "FAILED_NO_STATE_CHANGE", Interrupted(
                    "Deployment interrupted before it changed anything"), cleanup=False)
            elif record["status"] == "QUEUED" and reason == "the nucleus stopped":
                self.queue.put(record["deploymentId"])  # (after an internal error they are still queued)
        self.store.remove_stale(versions_to_keep(self.store.committed()))


def _err(exc: GreengrassError | None) -> dict[str, Any]:
    if exc is None:
        return {}
    return {"errorStack": list(exc.stack), "errorTypes": list(exc.types), "failureCause": exc.message}
