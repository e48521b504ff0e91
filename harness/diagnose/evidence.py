"""Evidence of a failure, gathered from whatever the failing step left: a command's exit status and
stderr, a Greengrass deployment's status and logs, preflight verdicts, a typed HilError.

Every field is optional: a field report often has only a log line. ``Evidence.lines()`` is what a
diagnosis quotes back, so the reader sees the facts the class was chosen from.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from typing import Any

from harness.artifact.verdict import Verdict
from harness.errors import HilError
from harness.primitives.exitstatus import signal_name, signal_of

#: Text fields are cut to their last bytes: a diagnosis quotes a tail, never a whole log.
MAX_TEXT = 64 * 1024


def _telling(line: str) -> bool:
    """Not blank and not a traceback's ^^^/~~~ underline: the lines a reader of the evidence needs."""
    return bool(line.strip()) and not set(line.strip()) <= {"^", "~"}


def _tail(text: object) -> str:
    return str(text or "")[-MAX_TEXT:]


@dataclass(frozen=True)
class Evidence:
    """What a failure left behind. ``exit_status`` follows the shell (128+N for signal N)."""

    exit_status: int | None = None
    signal: int | None = None
    stderr: str = ""
    stdout: str = ""
    deployment_status: str | None = None
    error_stack: tuple[str, ...] = ()
    error_types: tuple[str, ...] = ()
    failure_cause: str = ""
    logs: str = ""
    verdicts: tuple[Verdict, ...] = ()
    error_class: str | None = None  # a HilError's failure_class
    error_text: str = ""
    device_arch: str | None = None
    device_target: str | None = None  # the Neo target this device should get, e.g. "ml_c5"
    oom_kills: int | None = None  # cgroup memory.events oom_kill count during the run
    facts: dict[str, Any] = field(default_factory=dict)

    @property
    def killed_by(self) -> int | None:
        """The signal that ended the process: given, or read from a 128+N exit status."""
        if self.signal is not None:
            return self.signal
        return signal_of(self.exit_status)

    def text(self) -> str:
        """All free text, for the pattern rules."""
        verdicts = "\n".join(f"{v.check}: {v.reason}" for v in self.verdicts if not v.ok)
        return "\n".join(t for t in (self.error_text, self.stderr, self.stdout, self.failure_cause, self.logs,
                                     verdicts) if t)

    def lines(self) -> list[str]:
        """The facts, one short line each, as a diagnosis quotes them."""
        out: list[str] = []
        if self.exit_status is not None:
            out.append(f"exit status {self.exit_status}")
        sig = self.killed_by
        if sig is not None:
            out.append(f"killed by signal {sig} ({signal_name(sig)})")
        if self.deployment_status:
            out.append(f"deployment {self.deployment_status}")
        if self.error_stack:
            out.append("error stack: " + ", ".join(self.error_stack))
        if self.error_types:
            out.append("error types: " + ", ".join(self.error_types))
        if self.oom_kills is not None:
            out.append(f"cgroup oom_kill events: {self.oom_kills}")
        if self.error_class:
            out.append(f"error class: {self.error_class}")
        out += [f"preflight {v.check}: {v.reason}" for v in self.verdicts if not v.ok]
        for name in ("error_text", "failure_cause", "stderr", "logs"):
            tail = [ln.strip() for ln in str(getattr(self, name)).splitlines() if _telling(ln)][-6:]
            out += [f"{name.replace('_', ' ')}: {ln[:300]}" for ln in tail]
        return out

    def with_error(self, error: BaseException) -> Evidence:
        """This evidence plus a raised error (a HilError carries its class, advice and device log tail)."""
        if isinstance(error, HilError):
            text = str(error)
            extra = getattr(error, "evidence", "")
            return replace(self, error_class=str(error.failure_class),
                           error_text=_tail(f"{text}\n{extra}" if extra and extra not in text else text))
        return replace(self, error_text=_tail(f"{type(error).__name__}: {error}"))


def from_command(result: Any, **more: Any) -> Evidence:
    """Evidence of a finished command (a transport CommandResult or anything with the same fields)."""
    return Evidence(exit_status=int(result.exit_status), stderr=_tail(result.stderr), stdout=_tail(result.stdout),
                    **more)


def from_error(error: BaseException, **more: Any) -> Evidence:
    return Evidence(**more).with_error(error)


def from_deployment(status: Any, logs: str = "", **more: Any) -> Evidence:
    """Evidence of a Greengrass deployment (a greengrass.cli_output.DeploymentStatus)."""
    return Evidence(deployment_status=status.status, error_stack=tuple(status.error_stack),
                    error_types=tuple(status.error_types), failure_cause=_tail(status.failure_cause),
                    logs=_tail(logs), **more)


def from_verdicts(verdicts: Iterable[Verdict], **more: Any) -> Evidence:
    return Evidence(verdicts=tuple(verdicts), **more)
