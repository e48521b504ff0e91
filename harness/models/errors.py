"""Errors about a user's model workload: its samples, its host reference run, the shipped workloads."""

from __future__ import annotations

from harness.errors import FailureClass, HilError


class ModelWorkloadError(HilError):
    """Inputs or references for a model cannot be made: bad samples.npz, unreadable image, failed host run."""

    failure_class = FailureClass.INPUT_CONFIG


class WorkloadMissing(HilError):
    """A shipped workload (model file, photograph) lives in a package that is not installed."""

    failure_class = FailureClass.HOST_SETUP
