"""A full disk on the core, from the text greengrass-cli really prints: the disk-full diagnosis and the typed
DeviceDiskFull error an on-call engineer reads; other write errors and inotify's ENOSPC are not a full disk.

The status lines are DeploymentCommand.status's (aws-greengrass-cli DeploymentCommand.java:172-203); the cause is
the nucleus's Utils.generateFailureMessage of DeploymentService.copyRecipesAndArtifacts's chain
(DeploymentService.java:629-643,781-785) over Java's FileSystemException ("src -> dst: reason"); the unpack one is
ComponentManager.java:547-550's.
"""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from harness.diagnose import Evidence, diagnose, from_deployment
from harness.greengrass.cli_output import parse_deployment_status
from harness.greengrass.client import DeploymentResult
from harness.greengrass.errors import DeploymentFailed, DeviceDiskFull
from harness.greengrass.steps import deployment_failed

ID = "4f1e2d3c-0b9a-4876-9543-210fedcba987"
SRC = "/var/tmp/hil-greengrass.Xy12/artifacts"
DST = "/greengrass/v2/packages/artifacts/com.example.Model/2.0.0/model.zip"


def cli_status(stack: str, types: str, cause: str, detailed: str = "FAILED_NO_STATE_CHANGE") -> str:
    return (f"{ID}: FAILED\nCreated on: 02-12-2026 03:40:12 UTC\nDetailed Status: {detailed}\n"
            f"Deployment Error Stack: {stack}\nDeployment Error Types: {types}\nDeployment Failure Cause: {cause}\n")


def copy_cause(src_file: str = f"{SRC}/com.example.Model/2.0.0/model.zip", dst: str = DST,
               reason: str = "No space left on device") -> str:
    java = f"{src_file} -> {dst}: {reason}"
    return f"Error copying recipes and artifacts. Unable to copy artifacts from  {SRC} due to: {java}. {java}"


COPY_FULL = cli_status("DEPLOYMENT_FAILURE, IO_ERROR, IO_WRITE_ERROR", "DEVICE_ERROR", copy_cause())
UNPACK_FULL = cli_status(
    "DEPLOYMENT_FAILURE, ARTIFACT_DOWNLOAD_ERROR, IO_ERROR, IO_UNZIP_ERROR", "DEVICE_ERROR",
    "Failed to unarchive component com.example.Model-v2.0.0 artifact ComponentArtifact(artifactUri=s3://b/model.zip, "
    "checksum=null, algorithm=SHA-256, unarchive=ZIP, permission=Permission(read=OWNER, execute=NONE)). "
    "No space left on device")


def result_of(text: str) -> DeploymentResult:
    return DeploymentResult(ID, "deploy com.example.Model@2.0.0", parse_deployment_status(text, ID), 0.4)


def test_the_nucleus_copy_error_is_a_full_disk_naming_the_store_path() -> None:
    d = diagnose(from_deployment(parse_deployment_status(COPY_FULL, ID)))
    assert d.failure_class == "disk-full", str(d)
    assert d.summary == f"the device's disk is full: Greengrass could not write {DST} (IO_WRITE_ERROR: No space " \
                        f"left on device)"
    assert "df -h /greengrass/v2" in d.advice
    assert "error stack: DEPLOYMENT_FAILURE, IO_ERROR, IO_WRITE_ERROR" in d.evidence


def test_an_archive_that_does_not_fit_unpacked_is_a_full_disk_not_a_bad_archive() -> None:
    d = diagnose(from_deployment(parse_deployment_status(UNPACK_FULL, ID)))
    assert d.failure_class == "disk-full", str(d)
    assert "could not unpack the archive artifact of com.example.Model-v2.0.0 (IO_UNZIP_ERROR" in d.summary


def test_the_client_raises_a_typed_disk_full_error_an_on_call_engineer_can_act_on() -> None:
    err = deployment_failed(result_of(COPY_FULL), "SUCCEEDED", device="rasp4b-emu", root="/greengrass/v2",
                            evidence="greengrass.log:\n...")
    assert isinstance(err, DeviceDiskFull) and isinstance(err, DeploymentFailed)
    text = str(err)
    assert text.startswith("rasp4b-emu: deploy com.example.Model@2.0.0: [disk-full] the device's disk is full: "
                           f"Greengrass could not write {DST}")
    assert "nothing on the core changed, the components that ran before still run" in text
    assert f"Deployment FAILED (DEPLOYMENT_FAILURE, IO_ERROR, IO_WRITE_ERROR; FAILED_NO_STATE_CHANGE) after 0.4 s " \
           f"(expected SUCCEEDED; deployment {ID})" in text
    assert "advice: free space on the device's disk (/greengrass/v2" in text and "evidence:" in text


def test_a_full_disk_after_changes_does_not_claim_nothing_changed() -> None:
    text = cli_status("DEPLOYMENT_FAILURE, IO_ERROR, IO_WRITE_ERROR", "DEVICE_ERROR", copy_cause(),
                      detailed="FAILED_ROLLBACK_NOT_REQUESTED")
    err = deployment_failed(result_of(text), "SUCCEEDED", device="d", root="/greengrass/v2")
    assert isinstance(err, DeviceDiskFull) and "nothing on the core changed" not in str(err)


@pytest.mark.parametrize("text", [
    cli_status("DEPLOYMENT_FAILURE, IO_ERROR, IO_WRITE_ERROR", "DEVICE_ERROR", copy_cause(reason="Permission denied")),
    cli_status("DEPLOYMENT_FAILURE, ARTIFACT_DOWNLOAD_ERROR, IO_ERROR, IO_UNZIP_ERROR", "DEVICE_ERROR",
               "Failed to unarchive component c-v1.0.0 artifact x. Entry is outside of the target dir: ../../e.txt"),
])
def test_other_write_errors_are_not_a_full_disk(text: str) -> None:
    err = deployment_failed(result_of(text), "SUCCEEDED", device="d", root="/greengrass/v2")
    assert type(err) is DeploymentFailed and "[deployment]" in str(err)
    assert diagnose(from_deployment(parse_deployment_status(text, ID))).failure_class != "disk-full"


def test_greengrass_disk_space_critical_and_the_store_limit() -> None:
    critical = Evidence(error_stack=("DEPLOYMENT_FAILURE", "ARTIFACT_DOWNLOAD_ERROR", "DISK_SPACE_CRITICAL"),
                        failure_cause="Disk space critical: 1048576 bytes usable, 20971520 bytes minimum allowed")
    d = diagnose(critical)
    assert d.failure_class == "disk-full" and "1048576 bytes usable, Greengrass needs 20971520" in d.summary
    limit = Evidence(error_stack=("DEPLOYMENT_FAILURE", "DISK_SPACE_CRITICAL"), failure_cause=(
        "Component store size limit reached: 9000000000 bytes existing, 2000000000 bytes needed, 10000000000 bytes "
        "maximum allowed total"))
    d = diagnose(limit)
    assert d.failure_class == "disk-full" and "componentStoreMaxSizeBytes" in d.advice


def test_enospc_from_any_tool_but_inotify() -> None:
    d = diagnose(Evidence(exit_status=1, stderr="Traceback ...\nOSError: [Errno 28] No space left on device"))
    assert d.failure_class == "disk-full" and "ENOSPC" in d.summary
    inotify = Evidence(exit_status=1, stderr="inotify_add_watch(/data) failed: No space left on device")
    assert diagnose(inotify).failure_class == "unknown"


@given(parts=st.lists(st.from_regex(r"[A-Za-z0-9._-]{1,12}", fullmatch=True), min_size=1, max_size=5),
       root=st.sampled_from(["/greengrass/v2", "/opt/gg", "/data/greengrass/v2"]))
def test_whatever_the_path_the_summary_names_it_and_the_advice_its_root(parts: list[str], root: str) -> None:
    dst = f"{root}/packages/artifacts/{'/'.join(parts)}"
    text = cli_status("DEPLOYMENT_FAILURE, IO_ERROR, IO_WRITE_ERROR", "DEVICE_ERROR", copy_cause(dst=dst))
    d = diagnose(from_deployment(parse_deployment_status(text, ID)))
    assert d.failure_class == "disk-full" and f"could not write {dst} " in d.summary
    assert f"df -h {root}`" in d.advice
