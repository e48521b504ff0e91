"""Each failure class from the real texts the tools print; near misses stay "unknown"; any evidence → a Diagnosis."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from harness.artifact.verdict import Verdict
from harness.compile.errors import InputConfigError, UnsupportedOperatorError
from harness.diagnose import Diagnosis, Evidence, diagnose, from_deployment, from_error, from_verdicts
from harness.greengrass.cli_output import DeploymentStatus
from harness.greengrass.errors import DeploymentFailed

NO_RECIPE = ("Failed to find usable recipe for current platform: {os=linux, architecture=amd64}, for package: "
             "'com.example.OtherArch-1a2b' in the local package store.")

CASES = [
    # libdlr's own CreateDLRModel diagnoses (harness/runtime/src/artifact_meta.cc), through the dlr wrapper
    (Evidence(exit_status=1, stderr="dlr.api.DLRError: model compiled for aarch64 (rasp4b), this device is x86_64; "
              "compile it for this device's Neo target", device_target="ml_c5"),
     "wrong-target", "TargetDevice=ml_c5"),
    (Evidence(exit_status=1, stderr="OSError: /tmp/m/compiled.so: cannot open shared object file: No such file or "
              "directory"), "wrong-target", "recompile"),
    (Evidence(exit_status=1, stderr="OSError: /tmp/m/compiled.so: wrong ELF class: ELFCLASS32"), "wrong-target", ""),
    (Evidence(exit_status=132, stderr="Illegal instruction (core dumped)", device_target="rasp4b"),
     "wrong-target", "-mcpu"),
    (Evidence(exit_status=132), "wrong-target", "mattr"),
    (from_verdicts([Verdict("arch", False, "model compiled for aarch64 (rasp4b), this device is x86_64",
                            "recompile with TargetDevice=ml_c5")]), "wrong-target", "recompile"),
    (Evidence(exit_status=1, stderr="dlr.api.DLRError: model compiled with TVM 0.27.0 / needs runtime ABI tvm-0.27, "
              "this runtime is TVM 0.26.0 (tvm-0.26); install the libdlr built for tvm-0.27"),
     "runtime-mismatch", "install DLR matching compiler TVM 0.27.0"),
    (Evidence(stderr="TVMError: Check failed: f != nullptr: Loader of metadata(runtime.module.loadbinary_metadata) "
              "is not presented"), "runtime-mismatch", "DLR release"),
    (from_verdicts([Verdict("runtime", False, "model compiled with TVM 0.27 needs runtime ABI tvm-0.27, this "
                            "device's runtime is tvm-0.26 (DLR 1.10.0)")]), "runtime-mismatch", "TVM 0.27"),
    (Evidence(exit_status=1, stderr='dlr.api.DLRError: input "data" has shape (1,3,112,112), model expects '
              "(1,3,224,224)"), "input-config", "the model's input is 'data' [1,3,224,224]"),
    (from_error(InputConfigError("ClientError: InputConfiguration: Input names 'input0' not found in the model; it "
                                 "has 'data'", advice="set DataInputConfig")), "input-config", "DataInputConfig"),
    (from_error(UnsupportedOperatorError("ClientError: InputConfiguration: TVM cannot convert ONNX model. The "
                                         "following operators are not implemented: {'MyCustomOp'}")),
     "unsupported-operator", "MyCustomOp"),
    (Evidence(stderr="tvm.error.OpNotImplemented: The following operators are not supported for frontend ONNX: "
              "MyCustomOp"), "unsupported-operator", "MyCustomOp"),
    (Evidence(exit_status=137, oom_kills=1), "out-of-memory", "limit"),
    (Evidence(exit_status=1, stderr="numpy.core._exceptions._ArrayMemoryError: ... MemoryError: Unable to allocate "
              "3.00 GiB"), "out-of-memory", "memory"),
    (Evidence(exit_status=137, verdicts=(Verdict("memory", False, "needs ≥ 900 MiB, device has 512 MiB available"),)),
     "out-of-memory", "memory"),
    (Evidence(exit_status=1, stderr="OSError: libtvm_runtime.so: cannot open shared object file: No such file or "
              "directory"), "missing-dependency", "libtvm_runtime.so"),
    (Evidence(exit_status=127, stderr="python3: error while loading shared libraries: libstdc++.so.6: cannot open "
              "shared object file: No such file or directory"), "missing-dependency", "libstdc++.so.6"),
    (Evidence(stderr="/lib/libdlr.so: version `GLIBCXX_3.4.30' not found"), "missing-dependency", "glibc"),
    (Evidence(stderr="dlr.libpath.DLRLibraryNotFound: Cannot find DLR Library in the candidate path, List of "
              "candidates:\n/x/libdlr.so"), "missing-dependency", "install DLR"),
    (from_deployment(DeploymentStatus("d1", "FAILED", "FAILED_NO_STATE_CHANGE",
                                      ("DEPLOYMENT_FAILURE", "COMPONENT_PACKAGE_LOADING_ERROR"),
                                      ("COMPONENT_RECIPE_ERROR",), NO_RECIPE)), "deployment-platform", "Manifests"),
    (from_error(DeploymentFailed("FAILED (DEPLOYMENT_FAILURE, COMPONENT_PACKAGE_LOADING_ERROR)",
                                 evidence="greengrass.log:\n" + NO_RECIPE)), "deployment-platform", "architecture"),
    (from_deployment(DeploymentStatus("d2", "FAILED", None, ("DEPLOYMENT_FAILURE", "ARTIFACT_DOWNLOAD_ERROR",
                                                             "ARTIFACT_CHECKSUM_MISMATCH"), ("COMPONENT_RECIPE_ERROR",),
                                      "Integrity check for downloaded artifact failed")),
     "artifact-integrity", "Digest"),
    (Evidence(exit_status=1, stderr="dlr.api.DLRError: compiled.so is 4096 bytes, compiled.meta records 60512: the "
              "artifact was truncated or replaced; redeploy it"), "artifact-integrity", "redeploy"),
]


@pytest.mark.parametrize(("evidence", "klass", "advice"), CASES, ids=[f"{c[1]}-{i}" for i, c in enumerate(CASES)])
def test_each_class_from_real_evidence(evidence: Evidence, klass: str, advice: str) -> None:
    d = diagnose(evidence)
    assert d.failure_class == klass, str(d)
    assert advice in d.advice
    assert d.evidence and d.summary
    assert set(d.as_dict()) == {"class", "summary", "evidence", "advice"}


NEAR_MISSES = [
    Evidence(exit_status=137),  # SIGKILL alone: a timeout kill looks the same as an OOM kill
    Evidence(exit_status=1, stderr="Traceback ...\nValueError: bad value"),
    Evidence(stderr="model compiled for the device"),  # half a signature
    Evidence(stderr="cannot open shared object file"),  # which file? no
    Evidence(stderr="Failed to find usable component"),
    Evidence(error_stack=("DEPLOYMENT_FAILURE", "COMPONENT_PACKAGE_LOADING_ERROR")),  # no more specific code
    Evidence(stderr="ClientError: InputConfiguration"),  # no detail after it
    Evidence(exit_status=0, stdout="Illegal instructions are documented in the manual"),  # not the kernel's text
    from_verdicts([Verdict("memory", True, "needs ≥ 100 MiB, device has 900 MiB available")]),
    Evidence(),
]


@pytest.mark.parametrize("evidence", NEAR_MISSES)
def test_near_misses_are_unknown(evidence: Evidence) -> None:
    d = diagnose(evidence)
    assert d.failure_class == "unknown", str(d)
    assert "no known failure signature" in d.summary


def test_conflicting_signatures_are_unknown_not_a_guess() -> None:
    d = diagnose(Evidence(stderr="model compiled for aarch64 (rasp4b), this device is x86_64\nMemoryError"))
    assert d.failure_class == "unknown"
    assert "out-of-memory" in d.summary and "wrong-target" in d.summary


def test_a_corroborated_class_beats_a_hint() -> None:
    """A tool's own message (strength 3) wins over a bare signal of another class."""
    d = diagnose(Evidence(exit_status=132, stderr="MemoryError: Unable to allocate"))
    assert d.failure_class == "out-of-memory"


VERDICTS = st.builds(Verdict, st.sampled_from(["arch", "cpu", "runtime", "memory", "glibc"]), st.booleans(),
                     st.text(max_size=80))
texts = st.text(max_size=300) | st.sampled_from([c[0].stderr for c in CASES] + [NO_RECIPE])


@settings(max_examples=300, deadline=None)
@given(exit_status=st.none() | st.integers(-(2**31), 2**31), signal=st.none() | st.integers(-5, 70),
       stderr=texts, logs=texts, stack=st.lists(st.text(max_size=40) | st.sampled_from(
           ["ARTIFACT_CHECKSUM_MISMATCH", "IO_UNZIP_ERROR", "DEPLOYMENT_FAILURE"]), max_size=4),
       oom=st.none() | st.integers(-3, 10), verdicts=st.lists(VERDICTS, max_size=3))
def test_any_evidence_gives_a_diagnosis(exit_status, signal, stderr, logs, stack, oom, verdicts) -> None:
    d = diagnose(Evidence(exit_status=exit_status, signal=signal, stderr=stderr, logs=logs, error_stack=tuple(stack),
                          oom_kills=oom, verdicts=tuple(verdicts)))
    assert isinstance(d, Diagnosis)
    assert d.failure_class in {"unknown", "wrong-target", "runtime-mismatch", "input-config", "unsupported-operator",
                               "out-of-memory", "missing-dependency", "deployment-platform", "artifact-integrity",
                               "disk-full"}
    assert isinstance(d.as_dict()["evidence"], list)
