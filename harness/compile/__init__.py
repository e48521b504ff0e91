"""Offline SageMaker Neo: Neo target names → TVM targets, InputConfig checks, compile cache."""

from harness.compile.api import compile_model, stderr_progress
from harness.compile.errors import (
    CompileError,
    FrameworkUnavailable,
    InputConfigError,
    TargetError,
    UnsupportedOperatorError,
)
from harness.compile.targets import ResolvedTarget, known_targets, resolve_target

__all__ = [
    "CompileError", "FrameworkUnavailable", "InputConfigError", "ResolvedTarget", "TargetError",
    "UnsupportedOperatorError", "compile_model", "known_targets", "resolve_target", "stderr_progress",
]
