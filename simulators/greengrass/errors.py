"""Typed emulator errors carrying Greengrass deployment error codes, error types and the failure cause.

The codes and types are the nucleus's own (DeploymentErrorCode / DeploymentErrorType), so a deployment
record reads like one from a real core.
"""

from __future__ import annotations


class GreengrassError(Exception):
    """Base of every error the emulator raises on purpose: message + error stack + error types."""

    stack: tuple[str, ...] = ("DEPLOYMENT_FAILURE",)
    types: tuple[str, ...] = ()
    #: The IPC error shape the CLI sees when a request fails with this error.
    ipc_type: str = "ServiceError"

    def __init__(self, message: str, *, stack: tuple[str, ...] | None = None,
                 types: tuple[str, ...] | None = None) -> None:
        super().__init__(message)
        self.message = message
        if stack is not None:
            self.stack = stack
        if types is not None:
            self.types = types


class RecipeError(GreengrassError):
    stack = ("DEPLOYMENT_FAILURE", "COMPONENT_PACKAGE_LOADING_ERROR", "RECIPE_PARSE_ERROR")
    types = ("COMPONENT_RECIPE_ERROR",)


class VersionError(RecipeError):
    stack = ("DEPLOYMENT_FAILURE", "COMPONENT_PACKAGE_LOADING_ERROR", "COMPONENT_VERSION_NOT_VALID")


class NoMatchingPlatform(GreengrassError):
    """ComponentStore.getPackageRecipe: a PackageLoadingException with LOCAL_RECIPE_NOT_FOUND (DEVICE_ERROR)."""

    stack = ("DEPLOYMENT_FAILURE", "COMPONENT_PACKAGE_LOADING_ERROR", "LOCAL_RECIPE_NOT_FOUND")
    types = ("DEVICE_ERROR",)


class DependencyError(GreengrassError):
    stack = ("DEPLOYMENT_FAILURE", "NO_AVAILABLE_COMPONENT_VERSION", "COMPONENT_VERSION_REQUIREMENTS_NOT_MET")
    types = ("REQUEST_ERROR",)


class CircularDependency(DependencyError):
    stack = ("DEPLOYMENT_FAILURE", "COMPONENT_CIRCULAR_DEPENDENCY_ERROR")


class ArtifactError(GreengrassError):
    stack = ("DEPLOYMENT_FAILURE", "ARTIFACT_DOWNLOAD_ERROR")
    types = ("DEVICE_ERROR",)


class ChecksumMismatch(ArtifactError):
    stack = ("DEPLOYMENT_FAILURE", "ARTIFACT_DOWNLOAD_ERROR", "ARTIFACT_CHECKSUM_MISMATCH")
    types = ("COMPONENT_RECIPE_ERROR",)


class UnarchiveError(ArtifactError):
    """ComponentManager.prepareArtifacts (ComponentManager.java:547-550): a PackageDownloadException
    (ARTIFACT_DOWNLOAD_ERROR) caused by the Unarchiver's IOException (IO_ERROR), context IO_UNZIP_ERROR."""

    stack = ("DEPLOYMENT_FAILURE", "ARTIFACT_DOWNLOAD_ERROR", "IO_ERROR", "IO_UNZIP_ERROR")
    types = ("DEVICE_ERROR",)


class CopyError(GreengrassError):
    """A local deployment's recipes or artifacts could not be written to the component store (a full disk):
    DeploymentService.java:629-643 wraps the IOException in a DeploymentException with the context IO_WRITE_ERROR;
    DeploymentErrorCodeUtils.java:96-122,176-184 turn that chain into this stack (IO_WRITE_ERROR's type is
    DEVICE_ERROR, DeploymentErrorCode.java:58). A recipe's copy adds COMPONENT_PACKAGE_LOADING_ERROR
    (ComponentStore.java:121-124 via DeploymentService.java:851-858)."""

    stack = ("DEPLOYMENT_FAILURE", "IO_ERROR", "IO_WRITE_ERROR")
    types = ("DEVICE_ERROR",)


class DocumentError(GreengrassError):
    stack = ("DEPLOYMENT_FAILURE", "DEPLOYMENT_DOCUMENT_NOT_VALID")
    types = ("REQUEST_ERROR",)


class ConfigurationError(GreengrassError):
    stack = ("DEPLOYMENT_FAILURE", "COMPONENT_CONFIGURATION_NOT_VALID")
    types = ("REQUEST_ERROR",)


class ComponentBroken(GreengrassError):
    stack = ("DEPLOYMENT_FAILURE", "COMPONENT_UPDATE_ERROR", "COMPONENT_BROKEN")
    types = ("USER_COMPONENT_ERROR",)


class BootstrapError(GreengrassError):
    stack = ("DEPLOYMENT_FAILURE", "COMPONENT_UPDATE_ERROR", "COMPONENT_BOOTSTRAP_ERROR")
    types = ("USER_COMPONENT_ERROR",)


class Interrupted(GreengrassError):
    stack = ("DEPLOYMENT_FAILURE", "DEPLOYMENT_INTERRUPTED")
    types = ("NUCLEUS_ERROR",)


class ResourceNotFound(GreengrassError):
    """A request names a deployment or component the nucleus does not have (CLIEventStreamAgent)."""

    ipc_type = "ResourceNotFoundError"


class InvalidArguments(GreengrassError):
    """A request's arguments are malformed (CLIEventStreamAgent: InvalidArgumentsError)."""

    ipc_type = "InvalidArgumentsError"
