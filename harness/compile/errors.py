"""Compile failures in Neo's words: what the user sees instead of a TVM traceback."""

from __future__ import annotations

from harness.errors import FailureClass, HilError


class CompileError(HilError):
    """The compiler itself failed (TVM lowering, codegen, the cross compiler, the cloud job)."""

    failure_class = FailureClass.COMPILE


class TargetError(CompileError):
    """TargetDevice/TargetPlatform/CompilerOptions not understood; the message lists what is."""


class InputConfigError(HilError):
    """DataInputConfig does not parse or does not match the model's inputs."""

    failure_class = FailureClass.INPUT_CONFIG


class UnsupportedOperatorError(HilError):
    """The model uses operators the TVM frontend cannot convert."""

    failure_class = FailureClass.UNSUPPORTED_OPERATOR


class FrameworkUnavailable(CompileError):
    """The framework's importer needs a package that is not installed here."""
