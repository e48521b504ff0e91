"""Compile failures in Neo's words: what the user sees instead of a TVM traceback."""

from __future__ import annotations

from harness.errors import FailureClass, HilError


class _CompileStepError(HilError):
    """Errors of the compile step name it unless told otherwise."""

    def __init__(self, detail: str, *, step: str | None = "compile", **kwargs) -> None:
        super().__init__(detail, step=step, **kwargs)


class CompileError(_CompileStepError):
    """The compiler itself failed (TVM lowering, codegen, the cross compiler, the cloud job)."""

    failure_class = FailureClass.COMPILE


class TargetError(CompileError):
    """TargetDevice/TargetPlatform/CompilerOptions not understood; the message lists what is."""


class FrameworkUnavailable(CompileError):
    """The framework's importer needs a package that is not installed here."""


class InputConfigError(_CompileStepError):
    """DataInputConfig does not parse or does not match the model's inputs."""

    failure_class = FailureClass.INPUT_CONFIG


class UnsupportedOperatorError(_CompileStepError):
    """The model uses operators the TVM frontend cannot convert."""

    failure_class = FailureClass.UNSUPPORTED_OPERATOR
