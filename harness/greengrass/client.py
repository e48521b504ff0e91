"""A deployment client for a Greengrass v2 core, through greengrass-cli over any Transport.

It does what an engineer does by hand on a core (developer guide, "Greengrass CLI"): copy recipes
and artifacts to the device, ``greengrass-cli deployment create --recipeDir --artifactDir --merge``,
poll ``deployment status -i``, read ``component list|details``, ``logs/<name>.log``. Nothing here
knows whether the core is real or emulated; only the root and the CLI invocation (e.g.
``sudo -n /greengrass/v2/bin/greengrass-cli``) are configurable. A ``sudo ...`` prefix of the CLI
invocation is reused for reading logs, which a real core keeps root-only.

Staging (a private scratch directory, upload once per SHA-256, a fresh directory per deployment)
is in ``staging.py``; ``close()`` removes it.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from harness.errors import HilError, TransportError
from harness.greengrass import remote
from harness.greengrass.artifacts import Component
from harness.greengrass.cli_output import (
    USAGE_ERROR_RE,
    ComponentDetails,
    DeploymentStatus,
    parse_component_details,
    parse_components,
    parse_deployment_id,
    parse_deployment_list,
    parse_deployment_status,
)
from harness.greengrass.errors import CliOutputError, ComponentNotFound, DeploymentFailed, GreengrassTimeout
from harness.greengrass.names import check_component_name, check_version
from harness.greengrass.privilege import DEFAULT_ROOT
from harness.greengrass.staging import Staging
from harness.primitives.deadline import Timeout, poll_until
from harness.primitives.progress import Say, say
from harness.transport.base import CommandFailed, CommandResult, Transport

#: Where the private staging directory is made: /var/tmp, because /tmp is often a small tmpfs.
DEFAULT_STAGING_PARENT = "/var/tmp"
_ID_RE = re.compile(r"[A-Za-z0-9._:-]{1,128}", re.ASCII)
_GROUP_RE = re.compile(r"[A-Za-z0-9:_/-]{1,256}", re.ASCII)
_NOT_FOUND_RE = re.compile(r"ResourceNotFound|not found|does not exist|No such component", re.IGNORECASE)
_PROGRESS_EVERY = 5.0


@dataclass(frozen=True)
class DeploymentResult:
    deployment_id: str
    label: str
    status: DeploymentStatus
    elapsed: float


class GreengrassClient:
    """greengrass-cli on one core. ``device`` in every error is the transport's device name."""

    def __init__(self, transport: Transport, *, root: str = DEFAULT_ROOT, cli: Sequence[str] | None = None,
                 staging_parent: str = DEFAULT_STAGING_PARENT, command_timeout: float = 60.0, poll: float = 1.0,
                 progress: Say | None = say) -> None:
        if not root.startswith("/") or "\n" in root:
            raise ValueError(f"{root!r} must be an absolute device path")
        self.transport = transport
        self.root = root.rstrip("/") or "/"
        self.cli = list(cli) if cli else [f"{self.root}/bin/greengrass-cli"]
        self._privilege = self.cli[:-1] if self.cli and self.cli[0] == "sudo" else []
        self.command_timeout = command_timeout
        self.poll = poll  # seconds between status polls: each is one CLI run on the device
        self._progress = progress
        self._staging = Staging(transport, staging_parent, command_timeout=command_timeout, say=self._say)

    @property
    def device(self) -> str:
        return self.transport.device

    # -- plumbing ------------------------------------------------------------------------------
    def _run(self, argv: Sequence[str], *, step: str, timeout: float | None = None) -> CommandResult:
        return remote.run(self.transport, argv, step=step, timeout=timeout or self.command_timeout)

    def _cli(self, args: Sequence[str], *, step: str, timeout: float | None = None) -> str:
        """The CLI's stdout; a usage error, which the real CLI reports with exit status 0, raises too."""
        try:
            result = self.transport.check([*self.cli, *args], step=step, timeout=timeout or self.command_timeout)
        except CommandFailed as failed:
            raise self._cli_error(args, failed.result, step) from None
        first = next(iter((result.stderr or result.stdout).strip().splitlines()), "")
        if USAGE_ERROR_RE.match(first):
            raise CliOutputError(f"`{' '.join(self.cli)} {' '.join(args[:2])}` rejected its arguments: {first}",
                                 device=self.device, step=step,
                                 advice="this CLI release does not take these options; check its version "
                                        "(component details --name aws.greengrass.Cli)")
        return result.stdout

    def _cli_error(self, args: Sequence[str], result: CommandResult, step: str) -> HilError:
        """What a non-zero greengrass-cli exit means: an unknown component, or a CLI that cannot run."""
        text = (result.stderr + "\n" + result.stdout).strip()
        tail = " | ".join(text.splitlines()[-3:]) or "(no output)"
        detail = f"`{' '.join(self.cli)} {' '.join(args[:2])}` exited {result.exit_status}: {tail}"
        if _NOT_FOUND_RE.search(text) and args[:1] == ["component"]:
            return ComponentNotFound(detail, device=self.device, step=step)
        err = CliOutputError(detail, device=self.device, step=step,
                             advice="check that the Greengrass CLI (aws.greengrass.Cli) is deployed on the core and "
                                    "that this user may run it (e.g. cli=['sudo', '-n', "
                                    "'/greengrass/v2/bin/greengrass-cli'])")
        err.cannot_run = result.exit_status in (126, 127) or text.startswith("sudo:")  # waiting will not help
        return err

    def _say(self, line: str) -> None:
        if self._progress:
            self._progress(f"{self.device}: {line}")

    # -- staging -------------------------------------------------------------------------------
    def stage(self, components: Iterable[Component], *, timeout: float | None = None) -> tuple[str, str]:
        """Copy recipes and artifacts to a fresh (recipe_dir, artifact_dir) on the device (see staging.py)."""
        return self._staging.stage(components, timeout=timeout)

    def discard_staged(self, recipe_dir: str) -> None:
        self._staging.discard(recipe_dir)

    def close(self) -> None:
        """Remove this client's staging directory from the device."""
        self._staging.close()

    # -- deployments ---------------------------------------------------------------------------
    def create_deployment(self, *, merge: Mapping[str, str] | None = None, remove: Sequence[str] = (),
                          update_config: Mapping[str, Any] | None = None, group_id: str | None = None,
                          recipe_dir: str | None = None, artifact_dir: str | None = None,
                          failure_handling_policy: str | None = None) -> str:
        """``greengrass-cli deployment create ...``; returns the Deployment Id.

        The nucleus does not roll local deployments back unless asked: pass
        ``failure_handling_policy="ROLLBACK"`` (CLI ``--failure-handling-policy``, CLI 2.11+).
        """
        request = _deployment_args(merge, remove, update_config, group_id, failure_handling_policy)
        dirs = [*(["--recipeDir", recipe_dir] if recipe_dir else []),
                *(["--artifactDir", artifact_dir] if artifact_dir else [])]
        return parse_deployment_id(self._cli(["deployment", "create", *dirs, *request], step="create deployment"))

    def deployment_status(self, deployment_id: str, *, timeout: float | None = None) -> DeploymentStatus:
        if not _ID_RE.fullmatch(deployment_id):
            raise ValueError(f"{deployment_id!r} is not a deployment id")
        out = self._cli(["deployment", "status", "-i", deployment_id], step="deployment status", timeout=timeout)
        return parse_deployment_status(out, deployment_id)

    def deployments(self) -> list[DeploymentStatus]:
        """``deployment list``: the core's recent local deployments (the CLI shows the last 10)."""
        return parse_deployment_list(self._cli(["deployment", "list"], step="deployment list"))

    def wait_for_deployment(self, deployment_id: str, *, timeout: float, poll: float | None = None,
                            label: str | None = None) -> DeploymentStatus:
        """Poll until the deployment is terminal; GreengrassTimeout (with evidence) otherwise."""
        label = label or f"deployment {deployment_id}"
        deadline = Timeout(timeout)
        seen: dict[str, Any] = {"status": None, "error": None, "said": 0.0}

        def terminal() -> DeploymentStatus | None:
            try:
                status = self.deployment_status(deployment_id, timeout=min(self.command_timeout,
                                                                           max(10.0, deadline.remaining)))
            except CliOutputError as exc:  # the nucleus may not know the id for a moment
                if exc.cannot_run:
                    raise
                seen["error"] = exc
                return None
            seen.update(status=status, error=None)
            if deadline.elapsed - seen["said"] >= _PROGRESS_EVERY:
                self._say(f"{label}: {status.status} ({deadline.elapsed:.0f} s)")
                seen["said"] = deadline.elapsed
            return status if status.terminal else None

        found = poll_until(terminal, deadline, interval=poll or self.poll)
        if found is None:
            last, error = seen["status"], seen["error"]
            state = last.describe() if last else f"no status ({error.detail if error else '-'})"
            raise GreengrassTimeout(
                f"{label}: still {state} after {deadline.elapsed:.1f} s (limit {timeout:g} s)",
                device=self.device, step=label,
                advice=f"read {self.root}/logs/greengrass.log on the device; a slow Install step or a "
                       "dependency that never starts keeps a deployment IN_PROGRESS",
                evidence=self.greengrass_log_tail())
        return found

    def run_deployment(self, components: Iterable[Component] = (), *, merge: Mapping[str, str] | None = None,
                       remove: Sequence[str] = (), update_config: Mapping[str, Any] | None = None,
                       group_id: str | None = None, failure_handling_policy: str | None = None,
                       timeout: float = 300.0, poll: float | None = None) -> DeploymentResult:
        """Stage, create and wait for one local deployment; returns whatever terminal status it reached.

        A FAILED deployment is a result here, not an error (``steps.expect_deployment`` raises on
        the unexpected one). Without ``failure_handling_policy`` the nucleus's local default applies:
        DO_NOTHING, no rollback.

        ``timeout`` counts from ``deployment create`` (uploads have their own, size-based limits).
        """
        comps = list(components)
        merged = {c.recipe.component_name: c.recipe.component_version for c in comps} | dict(merge or {})
        _deployment_args(merged, remove, update_config, group_id, failure_handling_policy)  # bad input: stage nothing
        label = "; ".join(part for part in (
            "deploy " + ", ".join(f"{n}@{v}" for n, v in merged.items()) if merged else "",
            "remove " + ", ".join(remove) if remove else "",
            "reconfigure " + ", ".join(update_config or {}) if update_config and not merged else "") if part)
        recipe_dir = artifact_dir = None
        if comps:
            recipe_dir, artifact_dir = self.stage(comps)
        clock = Timeout(timeout)
        deployment_id = self.create_deployment(merge=merged, remove=remove, update_config=update_config,
                                               group_id=group_id, recipe_dir=recipe_dir, artifact_dir=artifact_dir,
                                               failure_handling_policy=failure_handling_policy)
        self._say(f"{label}: deployment {deployment_id} submitted")
        status = self.wait_for_deployment(deployment_id, timeout=timeout, poll=poll, label=label)
        elapsed = clock.elapsed
        if recipe_dir:
            self.discard_staged(recipe_dir)
        self._say(f"{label}: {status.describe()} after {elapsed:.1f} s")
        return DeploymentResult(deployment_id, label, status, elapsed)

    # -- components ----------------------------------------------------------------------------
    def components(self) -> list[ComponentDetails]:
        return parse_components(self._cli(["component", "list"], step="component list"))

    def component(self, name: str) -> ComponentDetails:
        """``component details --name``; ComponentNotFound if the core does not have it."""
        check_component_name(name, "component")
        out = self._cli(["component", "details", "--name", name], step=f"component details {name}")
        return parse_component_details(out, name)

    def restart_component(self, name: str) -> None:
        self._cli(["component", "restart", "--names", check_component_name(name, "component")],
                  step=f"restart {name}")

    def stop_component(self, name: str) -> None:
        self._cli(["component", "stop", "--names", check_component_name(name, "component")], step=f"stop {name}")

    def wait_for_state(self, name: str, states: Iterable[str], *, timeout: float, version: str | None = None,
                       poll: float | None = None) -> ComponentDetails:
        """Poll ``component details`` until the state is one of ``states`` (and the version ``version``).

        A BROKEN component stays BROKEN until it is deployed again, so waiting for anything else
        fails at once, with the component's log as evidence.
        """
        wanted = set(states)
        deadline = Timeout(timeout)
        step = f"wait for {name}{'@' + version if version else ''} {'/'.join(sorted(wanted))}"
        last: list[ComponentDetails | None] = [None]

        def reached() -> ComponentDetails | None:
            try:
                details = last[0] = self.component(name)
            except ComponentNotFound:
                details = last[0] = None
                return None
            if details.state in wanted and version in (None, details.version):
                return details
            if details.state == "BROKEN":
                raise DeploymentFailed(f"{name} is BROKEN after {deadline.elapsed:.1f} s, expected "
                                       f"{'/'.join(sorted(wanted))}", device=self.device, step=step,
                                       advice=f"the component's lifecycle failed 3 times; read {self.root}/logs/"
                                              f"{name}.log, fix it and deploy again",
                                       evidence=self.read_log(name, max_bytes=4096))
            return None

        found = poll_until(reached, deadline, interval=poll or self.poll)
        if found is None:
            seen = f"{last[0].state} (version {last[0].version})" if last[0] else "not on the core"
            raise GreengrassTimeout(f"{name}: still {seen} after {deadline.elapsed:.1f} s (limit {timeout:g} s)",
                                    device=self.device, step=step,
                                    advice=f"read {self.root}/logs/{name}.log and greengrass.log",
                                    evidence=self.read_log(name, max_bytes=4096))
        return found

    # -- logs ----------------------------------------------------------------------------------
    def log_path(self, name: str) -> str:
        if name != "greengrass":
            check_component_name(name, "component")
        return f"{self.root}/logs/{name}.log"

    def read_log(self, name: str, *, max_bytes: int = 1 << 20, offset: int = 0) -> str:
        """``logs/<name>.log`` from byte ``offset`` (at most ``max_bytes`` of its end); '' if absent."""
        path = self.log_path(name)
        argv = [*self._privilege, "tail", "-c", f"+{offset + 1}" if offset else str(max_bytes), "--", path]
        result = self._run(argv, step=f"read {path}")
        if not result.ok:
            if "No such file" in result.stderr:
                return ""
            raise TransportError(f"cannot read {path}: {result.stderr.strip()[-200:] or result.exit_status}",
                                 device=self.device, step=f"read {path}",
                                 advice="logs are root-only on a real core: run the CLI with sudo -n")
        return result.stdout[-max_bytes:]

    def log_size(self, name: str) -> int:
        """Bytes in ``logs/<name>.log`` now (0 if absent): pass as ``offset`` to read only what follows."""
        result = self._run([*self._privilege, "wc", "-c", "--", self.log_path(name)], step="log size")
        head = result.stdout.split()[:1] if result.ok else []
        return int(head[0]) if head and head[0].isdigit() else 0

    def greengrass_log_tail(self, lines: int = 30) -> str:
        try:
            text = self.read_log("greengrass", max_bytes=64 * 1024)
        except HilError as exc:
            return f"(greengrass.log unreadable: {exc.detail})"
        return "\n".join(text.splitlines()[-lines:])

    def wait_for_log(self, name: str, pattern: str | re.Pattern[str], *, timeout: float, offset: int = 0,
                     poll: float | None = None) -> str:
        """The first line of ``logs/<name>.log`` after ``offset`` that matches ``pattern``."""
        regex = re.compile(pattern) if isinstance(pattern, str) else pattern
        read = {"offset": offset, "text": ""}

        def matching_line() -> str | None:
            text = self.read_log(name, offset=read["offset"])
            if not text and read["offset"] and self.log_size(name) < read["offset"]:
                read["offset"] = 0  # the nucleus rotated the log: the new file starts from nothing
                text = self.read_log(name)
            read["text"] = text
            return next((line for line in text.splitlines() if regex.search(line)), None)

        found = poll_until(matching_line, timeout, interval=poll or self.poll)
        if found is None:
            raise GreengrassTimeout(f"no line of {self.log_path(name)} matched /{regex.pattern}/ in {timeout:g} s",
                                    device=self.device, step=f"wait for {name} log",
                                    advice="the component may not have started; check its state with "
                                           "component details",
                                    evidence="\n".join(str(read["text"]).splitlines()[-20:]))
        return found


def _deployment_args(merge: Mapping[str, str] | None, remove: Sequence[str], update_config: Mapping[str, Any] | None,
                     group_id: str | None, failure_handling_policy: str | None) -> list[str]:
    """The request options of ``deployment create``, validated: a bad one raises ValueError."""
    if not (merge or remove or update_config):
        raise ValueError("a deployment needs something to merge, remove or reconfigure")
    args: list[str] = []
    for name, version in (merge or {}).items():
        args += ["--merge", f"{check_component_name(name, 'merge')}={check_version(version, 'merge version')}"]
    for name in remove:
        args += ["--remove", check_component_name(name, "remove")]
    if update_config:
        args += ["--update-config", json.dumps(_check_update_config(update_config), separators=(",", ":"))]
    if group_id:
        if not _GROUP_RE.fullmatch(group_id):
            raise ValueError(f"groupId {group_id!r} is not a thing group name")
        args += ["--groupId", group_id]
    if failure_handling_policy is not None:
        if failure_handling_policy not in ("ROLLBACK", "DO_NOTHING"):
            raise ValueError(f"failure handling policy {failure_handling_policy!r} must be ROLLBACK or DO_NOTHING")
        args += ["--failure-handling-policy", failure_handling_policy]
    return args


def _check_update_config(update: Mapping[str, Any]) -> Mapping[str, Any]:
    """``{"<component>": {"MERGE": {...}, "RESET": ["/path"]}}``, as the CLI reference documents."""
    for name, ops in update.items():
        check_component_name(name, "update-config component")
        if not isinstance(ops, Mapping) or not ops or set(ops) - {"MERGE", "RESET"}:
            raise ValueError(f"update-config for {name} must be {{'MERGE': {{...}}, 'RESET': ['/path']}}")
        if "RESET" in ops and not (isinstance(ops["RESET"], list) and all(isinstance(p, str) for p in ops["RESET"])):
            raise ValueError(f"update-config RESET for {name} must be a list of JSON pointers")
    json.dumps(update, allow_nan=False)
    return update
