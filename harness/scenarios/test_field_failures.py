"""Field failures, reproduced for real on each device and diagnosed: the diagnosis must name the class
that was set up. Each test records its diagnosis (``hil_record.diagnosis``) for the report.

wrong-target          the model compiled for the other architecture's Neo target, loaded by DLR
wrong-target-cpu      compiled for a newer CPU (arm64: neoverse-v1 +sve on a cortex-a72; x86_64: a float16
                      model for sapphirerapids, AVX512-FP16, on a CPU without it): SIGILL, exit 132
runtime-mismatch      a TVM 0.27 model run by a DLR built on TVM 0.26
input-config          a (1,3,112,112) input to a model compiled for DataInputConfig [1,3,224,224]
unsupported-operator  a model with MyCustomOp compiled for the device's target (host side: x86_64 only)
out-of-memory         an input batch larger than the core's cgroup memory limit (the kernel's OOM kill)
missing-dependency    libdlr.so without the libtvm_runtime.so it links
deployment-platform   a component whose only recipe manifest is for another platform
artifact-integrity    a truncated compiled.so against its compiled.meta
artifact-digest       a model component whose staged zip was cut short: ARTIFACT_CHECKSUM_MISMATCH
"""

from __future__ import annotations

import pytest

from harness.lab.device import Device
from harness.records import Record
from harness.reproduce import NotReproducible, reproduce


def _reproduce(name: str, device: Device, hil_record: Record, tmp_path) -> None:
    try:
        result = reproduce(name, device, work=tmp_path)
    except NotReproducible as exc:
        pytest.skip(str(exc))
    hil_record.diagnosis(result.diagnosis.as_dict())
    assert result.matched, f"{device.name}: set up {name} ({result.expected}), diagnosed:\n{result.diagnosis}"
    assert result.diagnosis.advice and result.diagnosis.evidence


@pytest.mark.parametrize("failure_class", ["wrong-target", "runtime-mismatch", "input-config", "missing-dependency",
                                           "deployment-platform", "artifact-integrity",
                                           "artifact-digest"])
def test_field_failure_is_reproduced_and_diagnosed(failure_class: str, device: Device, hil_record: Record,
                                                   tmp_path) -> None:
    _reproduce(failure_class, device, hil_record, tmp_path)


def test_model_for_a_newer_cpu_dies_with_sigill(device: Device, hil_record: Record, tmp_path) -> None:
    _reproduce("wrong-target-cpu", device, hil_record, tmp_path)


@pytest.mark.arch("x86_64")  # a compile failure: the device's architecture does not change it
def test_unsupported_operator_is_diagnosed(device: Device, hil_record: Record, tmp_path) -> None:
    _reproduce("unsupported-operator", device, hil_record, tmp_path)


def test_out_of_memory_is_the_kernels_oom_kill(device: Device, hil_record: Record, tmp_path) -> None:
    if not device.emulated:
        pytest.skip(f"{device.name} is a real board: exhausting its memory is not a lab test")
    _reproduce("out-of-memory", device, hil_record, tmp_path)
