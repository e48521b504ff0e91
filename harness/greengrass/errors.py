"""Typed errors of harness.greengrass, in Greengrass's own vocabulary.

All are ``HilError``s: ``str(error)`` names the device, the step ("deploy com.example.Model@1.0.1",
"validate recipe"), the failure class and, where we know one, what to do next.
"""

from __future__ import annotations

from harness.errors import FailureClass, HilError


class RecipeError(HilError):
    """A recipe is invalid; caught before anything was uploaded, nothing on the device changed."""

    failure_class = FailureClass.DEPLOYMENT


class ComponentArtifactError(HilError):
    """An artifact is missing, unreadable, unsafe to pack, or does not match its recipe Digest."""

    failure_class = FailureClass.ARTIFACT


class CliOutputError(HilError):
    """greengrass-cli printed something we cannot read, or exited non-zero."""

    failure_class = FailureClass.COMMAND
    #: The CLI could not be run at all (not installed, not permitted): waiting will not help.
    cannot_run: bool = False


class ComponentNotFound(HilError):
    """The core does not know the component (never deployed, or removed)."""

    failure_class = FailureClass.DEPLOYMENT


class _WithEvidence(HilError):
    """An error that carries what the device showed at the time (a log tail), printed indented."""

    def __init__(self, detail: str, *, evidence: str = "", **kwargs: object) -> None:
        self.evidence = evidence.strip()
        super().__init__(detail, **kwargs)  # type: ignore[arg-type]

    def __str__(self) -> str:
        text = super().__str__()
        if self.evidence:
            text += "\n  evidence:\n" + "\n".join(f"    {line}" for line in self.evidence.splitlines()[-40:])
        return text


class DeploymentFailed(_WithEvidence):
    """A deployment reached a terminal status other than the one expected, or a component BROKE."""

    failure_class = FailureClass.DEPLOYMENT


class GreengrassTimeout(_WithEvidence):
    """A deployment, a component state or a log line did not arrive in time."""

    failure_class = FailureClass.TIMEOUT


class DeviceDiskFull(DeploymentFailed):
    """The core's disk filled during a deployment (Greengrass's IO_WRITE_ERROR or IO_UNZIP_ERROR with "No space
    left on device", or DISK_SPACE_CRITICAL): space has to be freed on the device; the component is not at fault."""

    failure_class = FailureClass.DISK_FULL
