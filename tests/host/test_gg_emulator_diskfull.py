"""The core's disk full during a deployment: the emulated nucleus on a 4 MiB tmpfs, real CLI and processes.

What the real nucleus does (aws-greengrass-nucleus): a local deployment first copies --artifactDir into the
component store (DeploymentService.copyRecipesAndArtifacts); an IOException there fails the deployment before
anything is stopped, with DEPLOYMENT_FAILURE, IO_ERROR, IO_WRITE_ERROR / DEVICE_ERROR. An archive that does not
fit when unpacked fails in ComponentManager.prepareArtifacts with ARTIFACT_DOWNLOAD_ERROR, IO_ERROR,
IO_UNZIP_ERROR, and the Unarchiver deletes what it extracted. Either way the running version is not touched.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import tempfile
import time
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from harness.greengrass import builders, steps
from harness.greengrass.client import GreengrassClient
from harness.greengrass.errors import DeviceDiskFull
from harness.transport.local import LocalTransport
from simulators.greengrass.localcore import LocalCore, recipe, write_recipe

NAME = "com.ex.Disk"
SIZE = "4m"
pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="mounting a tmpfs needs root (CI runs as root)")


@pytest.fixture
def small_disk() -> Iterator[Path]:
    """A 4 MiB tmpfs in a private temporary directory: the core's whole disk. Always unmounted."""
    mnt = Path(tempfile.mkdtemp(prefix="hil-diskfull-"))
    subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={SIZE},mode=0700", "tmpfs", str(mnt)], check=True,
                   timeout=30)
    try:
        yield mnt
    finally:
        if subprocess.run(["umount", str(mnt)], timeout=30).returncode != 0:
            subprocess.run(["umount", "-l", str(mnt)], check=True, timeout=30)
        mnt.rmdir()


@pytest.fixture
def core(small_disk: Path) -> Iterator[LocalCore]:
    c = LocalCore(small_disk / "greengrass" / "v2")
    c.start()
    yield c
    c.stop()


def _free(path: Path) -> int:
    st = os.statvfs(path)
    return st.f_bavail * st.f_frsize


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _pids(marker: str) -> set[int]:
    """Live processes whose environment carries COMPONENT_ID=<marker>."""
    found = set()
    for proc in Path("/proc").iterdir():
        try:
            if f"COMPONENT_ID={marker}".encode() in (proc / "environ").read_bytes().split(b"\0"):
                found.add(int(proc.name))
        except (OSError, ValueError):
            continue
    return found


def _component(version: str, artifacts: list[dict] | None = None) -> dict:
    return recipe(NAME, version, {"Run": "exec sleep 60", "Setenv": {"COMPONENT_ID": f"Disk-{version}"}},
                  artifacts=artifacts)


def _stage(tmp: Path, version: str, files: dict[str, bytes], artifacts: list[dict] | None = None) -> Path:
    recipes, arts = tmp / f"recipes-{version}", tmp / f"artifacts-{version}"
    write_recipe(recipes, _component(version, artifacts))
    (arts / NAME / version).mkdir(parents=True)
    for name, data in files.items():
        (arts / NAME / version / name).write_bytes(data)
    return recipes


def _deploy(core: LocalCore, tmp: Path, version: str) -> dict[str, str]:
    dep = core.deploy("-r", str(tmp / f"recipes-{version}"), "-a", str(tmp / f"artifacts-{version}"),
                      "-m", f"{NAME}={version}")
    return core.wait_deployment(dep, timeout=60)


def _v1(core: LocalCore, tmp: Path) -> int:
    _stage(tmp, "1.0.0", {"payload.bin": os.urandom(256 << 10)}, [{"Uri": "s3://b/payload.bin"}])
    assert _deploy(core, tmp, "1.0.0")["status"] == "SUCCEEDED"
    core.wait_state(NAME, "RUNNING")
    (pid,) = _pids("Disk-1.0.0")
    return pid


def _assert_v1_intact(core: LocalCore, tmp: Path, pid: int) -> None:
    entry = core.components()[NAME]
    assert (entry["Version"], entry["State"]) == ("1.0.0", "RUNNING"), entry
    assert _pids("Disk-1.0.0") == {pid}  # the same process: never stopped
    stored = core.root / "packages" / "artifacts" / NAME / "1.0.0" / "payload.bin"
    assert _digest(stored) == _digest(tmp / "artifacts-1.0.0" / NAME / "1.0.0" / "payload.bin")


def _assert_nothing_half_written(core: LocalCore, tmp: Path, version: str) -> None:
    """Every file of `version` still in the store is whole (the one being written when the disk filled is gone)."""
    source = tmp / f"artifacts-{version}" / NAME / version
    for base in ("artifacts", "artifacts-unarchived"):
        for path in (core.root / "packages" / base / NAME / version).rglob("*"):
            if path.is_file():
                assert base == "artifacts" and _digest(path) == _digest(source / path.name), path
    assert not [p for p in core.root.rglob("*") if p.name.endswith((".part", ".tmp", ".unzip"))]


def test_artifact_copy_on_a_full_disk_fails_and_v1_keeps_running(core: LocalCore, tmp_path: Path) -> None:
    pid = _v1(core, tmp_path)
    ballast = core.root.parent.parent / "ballast"  # what filled the disk: not Greengrass's
    ballast.write_bytes(b"\0" * (_free(ballast.parent) - (600 << 10)))
    _stage(tmp_path, "2.0.0", {"payload.bin": os.urandom(1 << 20)}, [{"Uri": "s3://b/payload.bin"}])
    before = _free(core.root)

    t0 = time.monotonic()
    st = _deploy(core, tmp_path, "2.0.0")
    failed_in = time.monotonic() - t0
    print(f"\ndisk full during artifact copy: FAILED in {failed_in:.2f} s")

    assert (st["status"], st["Detailed Status"]) == ("FAILED", "FAILED_NO_STATE_CHANGE")
    assert st["Deployment Error Stack"] == "DEPLOYMENT_FAILURE, IO_ERROR, IO_WRITE_ERROR"
    assert st["Deployment Error Types"] == "DEVICE_ERROR"
    cause = st["Deployment Failure Cause"]
    assert cause.startswith(f"Error copying recipes and artifacts. Unable to copy artifacts from  "
                            f"{tmp_path / 'artifacts-2.0.0'} due to: ")
    assert cause.endswith(": No space left on device") and "packages/artifacts/com.ex.Disk/2.0.0" in cause
    _assert_v1_intact(core, tmp_path, pid)
    _assert_nothing_half_written(core, tmp_path, "2.0.0")
    assert _free(core.root) >= before - (64 << 10)  # only the deployment's record and log lines were kept

    ballast.unlink()  # the operator frees space, then redeploys
    t0 = time.monotonic()
    assert _deploy(core, tmp_path, "2.0.0")["status"] == "SUCCEEDED"
    print(f"redeploy after freeing space: SUCCEEDED in {time.monotonic() - t0:.2f} s")
    core.wait_state(NAME, "RUNNING")
    assert core.components()[NAME]["Version"] == "2.0.0" and _pids("Disk-1.0.0") == set()
    stored = core.root / "packages" / "artifacts" / NAME / "2.0.0" / "payload.bin"
    assert _digest(stored) == _digest(tmp_path / "artifacts-2.0.0" / NAME / "2.0.0" / "payload.bin")


def test_archive_that_does_not_fit_unpacked_fails_and_v1_keeps_running(core: LocalCore, tmp_path: Path) -> None:
    pid = _v1(core, tmp_path)
    archive = tmp_path / "model.zip"
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("model/weights.bin", b"\0" * (_free(core.root) + (1 << 20)))  # ~10 KiB zipped
    _stage(tmp_path, "2.0.0", {"model.zip": archive.read_bytes()}, [{"Uri": "s3://b/model.zip", "Unarchive": "ZIP"}])
    before = _free(core.root)

    t0 = time.monotonic()
    st = _deploy(core, tmp_path, "2.0.0")
    print(f"\ndisk full while unpacking: FAILED in {time.monotonic() - t0:.2f} s")

    assert (st["status"], st["Detailed Status"]) == ("FAILED", "FAILED_NO_STATE_CHANGE")
    assert st["Deployment Error Stack"] == "DEPLOYMENT_FAILURE, ARTIFACT_DOWNLOAD_ERROR, IO_ERROR, IO_UNZIP_ERROR"
    assert st["Deployment Error Types"] == "DEVICE_ERROR"
    assert st["Deployment Failure Cause"].startswith(f"Failed to unarchive component {NAME}-v2.0.0 artifact ")
    assert st["Deployment Failure Cause"].endswith("No space left on device")
    _assert_v1_intact(core, tmp_path, pid)
    _assert_nothing_half_written(core, tmp_path, "2.0.0")
    assert not (core.root / "packages" / "artifacts-unarchived" / NAME / "2.0.0" / "model").exists()
    assert _free(core.root) >= before - archive.stat().st_size - (64 << 10)  # the whole zip is kept, as the nucleus


def test_the_harness_client_names_the_full_disk(core: LocalCore, tmp_path: Path) -> None:
    """Through the harness's own client and steps, as a test on a board would see it: a typed DeviceDiskFull."""
    client = GreengrassClient(LocalTransport("tiny-disk-core"), root=str(core.root), staging_parent=str(tmp_path),
                              command_timeout=30, poll=0.1, progress=None)
    name = builders.unique_name("com.example.Full")
    small, large = tmp_path / "v1" / "app.sh", tmp_path / "v2" / "app.sh"
    for script, padding in ((small, 0), (large, 1 << 20)):  # v2's script carries a 1 MiB comment
        script.parent.mkdir()
        script.write_text("while true; do sleep 1; done\n" + f"# {'x' * padding}\n" * bool(padding))
    try:
        steps.expect_deployment(client, [builders.script_component(name, "1.0.0", small)], within=60)
        steps.expect_component_state(client, name, "RUNNING", within=30)
        ballast = core.root.parent.parent / "ballast"
        ballast.write_bytes(b"\0" * (_free(ballast.parent) - (600 << 10)))
        with pytest.raises(DeviceDiskFull) as failed:
            steps.expect_deployment(client, [builders.script_component(name, "2.0.0", large)], within=60)
        text = str(failed.value)
        print(f"\n{text}")
        assert text.startswith(f"tiny-disk-core: deploy {name}@2.0.0: [disk-full] the device's disk is full: "
                               f"Greengrass could not write {core.root}/packages/artifacts/{name}/2.0.0/")
        assert "nothing on the core changed" in text and f"`df -h {core.root}`" in text
        assert steps.expect_component_state(client, name, "RUNNING", within=10, version="1.0.0").version == "1.0.0"
    finally:
        client.close()
