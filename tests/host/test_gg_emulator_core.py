"""The Greengrass core emulator end to end: real supervised nucleus + real bin/greengrass-cli processes."""

from __future__ import annotations

import base64
import grp
import hashlib
import json
import os
import pwd
import shutil
import tempfile
import zipfile
from pathlib import Path

import pytest

from simulators.greengrass.deadline import poll_until
from simulators.greengrass.localcore import LocalCore, recipe, write_recipe

# GTF (aws-greengrass/aws-greengrass-testing, GreengrassCliSteps.java) finds a state as "State: <STATE>".
GTF_STATE = "State: {}"


def _user_exists(name: str) -> bool:
    try:
        pwd.getpwnam(name)
    except KeyError:
        return False
    return True


@pytest.fixture
def core(tmp_path: Path):
    c = LocalCore(tmp_path / "gg")
    c.start()
    yield c
    c.stop()


def sleeper(message: str = "{configuration:/Message}") -> dict:
    return {"Run": f"echo run {message}; exec sleep 60"}


def test_install_upgrade_remove(core: LocalCore, tmp_path: Path) -> None:
    recipes = tmp_path / "recipes"
    write_recipe(recipes, recipe("com.ex.App", "1.0.0", sleeper(), config={"Message": "one"}))
    dep = core.deploy("--recipeDir", str(recipes), "--merge", "com.ex.App=1.0.0")
    assert core.wait_deployment(dep)["status"] == "SUCCEEDED"
    details = core.cli("component", "details", "--name", "com.ex.App").stdout
    assert GTF_STATE.format("RUNNING") in details and "Version: 1.0.0" in details
    assert 'Configuration: {"Message":"one"}' in details
    assert (core.root / "packages" / "recipes" / "com.ex.App-1.0.0.yaml").is_file()
    assert "run one" in (core.root / "logs" / "com.ex.App.log").read_text()

    write_recipe(recipes, recipe("com.ex.App", "2.0.0", sleeper(), config={"Message": "two", "New": 1}))
    dep = core.deploy("--recipeDir", str(recipes), "--merge", "com.ex.App=2.0.0",
                      "--update-config", json.dumps({"com.ex.App": {"MERGE": {"Extra": True}}}))
    assert core.wait_deployment(dep)["status"] == "SUCCEEDED"
    app = core.components()["com.ex.App"]
    # configuration carries over, new default keys are added, MERGE applies on top
    assert app["Version"] == "2.0.0" and json.loads(app["Configuration"]) == {"Message": "one", "New": 1,
                                                                             "Extra": True}
    assert (core.root / "packages" / "recipes" / "com.ex.App-1.0.0.yaml").exists()  # the previous version

    dep = core.deploy("--update-config", json.dumps({"com.ex.App": {"RESET": ["/Message"]}}))
    assert core.wait_deployment(dep)["status"] == "SUCCEEDED"
    assert json.loads(core.components()["com.ex.App"]["Configuration"])["Message"] == "two"
    assert not (core.root / "packages" / "recipes" / "com.ex.App-1.0.0.yaml").exists()  # same version: rotated out

    dep = core.deploy("--remove", "com.ex.App")
    assert core.wait_deployment(dep)["status"] == "SUCCEEDED"
    assert "com.ex.App" not in core.components()
    assert not list((core.root / "packages" / "recipes").iterdir())


def test_dependency_order_and_variables(core: LocalCore, tmp_path: Path) -> None:
    recipes, order = tmp_path / "recipes", tmp_path / "order.txt"
    write_recipe(recipes, recipe("com.ex.Lib", "1.2.0", {
        "Install": f"sleep 0.2; echo lib >> {order}", "Run": "exec sleep 60"}, config={"Port": 8080}))
    write_recipe(recipes, recipe("com.ex.Lib", "2.0.0", {"Run": "exec sleep 60"}))
    write_recipe(recipes, recipe("com.ex.App", "1.0.0", {
        "Install": f"echo app >> {order}",
        "Run": "echo port={com.ex.Lib:configuration:/Port} work={com.ex.Lib:work:path} "
               "root={kernel:rootPath} thing={iot:thingName} unknown={nope:x}; exec sleep 60"},
        dependencies={"com.ex.Lib": {"VersionRequirement": ">=1.0.0 <2.0.0", "DependencyType": "HARD"}}))
    dep = core.deploy("--recipeDir", str(recipes), "--merge", "com.ex.App=1.0.0")
    assert core.wait_deployment(dep)["status"] == "SUCCEEDED"
    comps = core.components()
    assert comps["com.ex.Lib"]["Version"] == "1.2.0"  # highest version inside the range, not 2.0.0
    log = (core.root / "logs" / "com.ex.App.log").read_text()
    assert f"port=8080 work={core.root}/work/com.ex.Lib root={core.root} thing=hil-core unknown={{nope:x}}" in log
    # App's Install waits for nothing, but its start waits for Lib; Lib installed before App started
    greengrass_log = (core.root / "logs" / "greengrass.log").read_text()
    lib_running = greengrass_log.index("serviceName=com.ex.Lib, currentState=STARTING, newState=RUNNING")
    app_starting = greengrass_log.index("serviceName=com.ex.App, currentState=INSTALLED, newState=STARTING")
    assert lib_running < app_starting


def test_run_exit_1_goes_errored_then_broken(core: LocalCore, tmp_path: Path) -> None:
    recipes = tmp_path / "recipes"
    write_recipe(recipes, recipe("com.ex.Crash", "1.0.0", {"Run": "echo boom >&2; exit 1",
                                                            "Recover": f"echo recovered >> {tmp_path}/rec"}))
    dep = core.deploy("--recipeDir", str(recipes), "--merge", "com.ex.Crash=1.0.0", "-fp", "ROLLBACK")
    st = core.wait_deployment(dep)
    assert st["status"] == "FAILED"
    assert st["Detailed Status"] == "FAILED_ROLLBACK_COMPLETE"
    assert "COMPONENT_BROKEN" in st["Deployment Error Stack"]
    assert "USER_COMPONENT_ERROR" in st["Deployment Error Types"]
    assert st["Deployment Failure Cause"] == "Service com.ex.Crash in broken state after deployment"
    log = (core.root / "logs" / "greengrass.log").read_text()
    # Lifecycle.java:227-255: the third error in one state goes straight to BROKEN, without Recover
    assert log.count("serviceName=com.ex.Crash, currentState=RUNNING, newState=ERRORED") == 2
    assert "serviceName=com.ex.Crash, currentState=RUNNING, newState=BROKEN" in log
    assert (tmp_path / "rec").read_text().count("recovered") == 2
    assert "stderr. boom" in (core.root / "logs" / "com.ex.Crash.log").read_text()
    assert "com.ex.Crash" not in core.components()  # rolled back to the empty set


def test_do_nothing_leaves_component_broken(core: LocalCore, tmp_path: Path) -> None:
    recipes = tmp_path / "recipes"
    write_recipe(recipes, recipe("com.ex.Crash", "1.0.0", {"Run": "exit 3"}))
    dep = core.deploy("--recipeDir", str(recipes), "--merge", "com.ex.Crash=1.0.0",
                      "--failure-handling-policy", "DO_NOTHING")
    st = core.wait_deployment(dep)
    assert (st["status"], st["Detailed Status"]) == ("FAILED", "FAILED_ROLLBACK_NOT_REQUESTED")
    assert GTF_STATE.format("BROKEN") in core.cli("component", "details", "-n", "com.ex.Crash").stdout
    # restart and stop leave a BROKEN component alone until a deployment (Lifecycle.java:460-516)
    log = core.root / "logs" / "greengrass.log"
    errors = log.read_text().count("serviceName=com.ex.Crash, currentState=RUNNING, newState=ERRORED")
    core.cli("component", "restart", "--names", "com.ex.Crash")
    core.cli("component", "stop", "--names", "com.ex.Crash")
    assert poll_until(lambda: log.read_text().count("service is broken. Deployment is needed") >= 2, 10)
    assert GTF_STATE.format("BROKEN") in core.cli("component", "details", "-n", "com.ex.Crash").stdout
    assert log.read_text().count("serviceName=com.ex.Crash, currentState=RUNNING, newState=ERRORED") == errors


def test_install_failure_rolls_back_to_previous_version_and_config(core: LocalCore, tmp_path: Path) -> None:
    recipes = tmp_path / "recipes"
    write_recipe(recipes, recipe("com.ex.App", "1.0.0", sleeper(), config={"Message": "v1"}))
    dep = core.deploy("--recipeDir", str(recipes), "--merge", "com.ex.App=1.0.0",
                      "-c", json.dumps({"com.ex.App": {"MERGE": {"Message": "custom"}}}))
    assert core.wait_deployment(dep)["status"] == "SUCCEEDED"
    write_recipe(recipes, recipe("com.ex.App", "2.0.0", {"Install": "exit 7", **sleeper()}, config={"Message": "v2"}))
    dep = core.deploy("--recipeDir", str(recipes), "--merge", "com.ex.App=2.0.0", "-fp", "ROLLBACK",
                      "-c", json.dumps({"com.ex.App": {"MERGE": {"Message": "new"}}}))
    st = core.wait_deployment(dep)
    assert (st["status"], st["Detailed Status"]) == ("FAILED", "FAILED_ROLLBACK_COMPLETE")
    assert st["Deployment Failure Cause"] == "Service com.ex.App in broken state after deployment"
    app = core.components()["com.ex.App"]
    assert (app["Version"], app["State"], json.loads(app["Configuration"])) == ("1.0.0", "RUNNING",
                                                                               {"Message": "custom"})
    # the running version and the one the failed deployment tried (DefaultDeploymentTask.java:246-261)
    assert sorted(p.name for p in (core.root / "packages" / "recipes").iterdir()) == [
        "com.ex.App-1.0.0.yaml", "com.ex.App-2.0.0.yaml"]
    assert (core.root / "packages" / "recipes" / "com.ex.App-1.0.0.yaml").is_file()
    assert "run custom" in (core.root / "logs" / "com.ex.App.log").read_text().splitlines()[-1]


def test_no_manifest_for_this_architecture(tmp_path: Path) -> None:
    core = LocalCore(tmp_path / "gg", platform_override={"architecture": "aarch64"})
    core.start()
    try:
        recipes = tmp_path / "recipes"
        write_recipe(recipes, recipe("com.ex.X86", "1.0.0", sleeper(),
                                     platform={"os": "linux", "architecture": "amd64"}))
        dep = core.deploy("--recipeDir", str(recipes), "--merge", "com.ex.X86=1.0.0")
        st = core.wait_deployment(dep)
        assert (st["status"], st["Detailed Status"]) == ("FAILED", "FAILED_NO_STATE_CHANGE")
        assert st["Deployment Failure Cause"] == ("Failed to find usable recipe for current platform: {os=linux, "
                                       "architecture=aarch64}, for package: 'com.ex.X86-v1.0.0' in the local "
                                       "package store")
        assert st["Deployment Error Types"] == "DEVICE_ERROR"  # LOCAL_RECIPE_NOT_FOUND (DeploymentErrorCode.java:66)
        assert "com.ex.X86" not in core.components()
        # a /regex/ platform value matches the overridden architecture
        write_recipe(recipes, recipe("com.ex.Arm", "1.0.0", sleeper("x"),
                                     platform={"os": "linux", "architecture": "/aarch64|arm/"}))
        dep = core.deploy("--recipeDir", str(recipes), "--merge", "com.ex.Arm=1.0.0")
        assert core.wait_deployment(dep)["status"] == "SUCCEEDED"
    finally:
        core.stop()


def _digest(data: bytes) -> str:
    return base64.b64encode(hashlib.sha256(data).digest()).decode()


def test_artifacts_digest_unarchive_and_permissions(core: LocalCore, tmp_path: Path) -> None:
    recipes, arts = tmp_path / "recipes", tmp_path / "artifacts"
    adir = arts / "com.ex.Art" / "1.0.0"
    adir.mkdir(parents=True)
    (adir / "run.sh").write_text("echo from-script\n")
    with zipfile.ZipFile(adir / "model.zip", "w") as zf:
        zf.writestr("model/compiled.so", b"\x7fELF")
    good = [{"Uri": "s3://bucket/run.sh", "Digest": _digest((adir / "run.sh").read_bytes()),
             "Algorithm": "SHA-256", "Permission": {"Read": "ALL", "Execute": "ALL"}},
            {"Uri": "s3://bucket/model.zip", "Unarchive": "ZIP"}]
    write_recipe(recipes, recipe("com.ex.Art", "1.0.0", {
        "Run": "sh {artifacts:path}/run.sh; ls {artifacts:decompressedPath}/model/model; exec sleep 60"},
        artifacts=good))
    dep = core.deploy("--recipeDir", str(recipes), "--artifactDir", str(arts), "--merge", "com.ex.Art=1.0.0")
    assert core.wait_deployment(dep)["status"] == "SUCCEEDED"
    stored = core.root / "packages" / "artifacts" / "com.ex.Art" / "1.0.0"
    # models/Permission.java:35-47; the owner's w only when the nucleus is not root (util/Permissions.java:56-62)
    write = 0 if os.geteuid() == 0 else 0o200
    assert (stored / "run.sh").stat().st_mode & 0o777 == 0o555 | write
    assert (stored / "model.zip").stat().st_mode & 0o777 == 0o440 | write  # Read OWNER, Execute NONE
    unpacked = core.root / "packages" / "artifacts-unarchived" / "com.ex.Art" / "1.0.0" / "model"
    assert (unpacked / "model" / "compiled.so").read_bytes() == b"\x7fELF"
    log = (core.root / "logs" / "com.ex.Art.log").read_text()
    assert "from-script" in log and "compiled.so" in log


def test_digest_mismatch_fails_and_installs_nothing(core: LocalCore, tmp_path: Path) -> None:
    recipes, arts = tmp_path / "recipes", tmp_path / "artifacts"
    (arts / "com.ex.Bad" / "1.0.0").mkdir(parents=True)
    (arts / "com.ex.Bad" / "1.0.0" / "blob.bin").write_bytes(b"tampered")
    write_recipe(recipes, recipe("com.ex.Bad", "1.0.0", sleeper("x"), artifacts=[
        {"Uri": "s3://b/blob.bin", "Digest": _digest(b"original"), "Algorithm": "SHA-256"}]))
    dep = core.deploy("-r", str(recipes), "-a", str(arts), "-m", "com.ex.Bad=1.0.0")
    st = core.wait_deployment(dep)
    assert (st["status"], st["Detailed Status"]) == ("FAILED", "FAILED_NO_STATE_CHANGE")
    assert "ARTIFACT_CHECKSUM_MISMATCH" in st["Deployment Error Stack"]
    assert st["Deployment Failure Cause"].startswith("Integrity check for downloaded artifact failed.")
    assert "com.ex.Bad" not in core.components()
    assert not list((core.root / "packages" / "artifacts").rglob("blob.bin"))  # the mismatching copy is deleted


def test_zip_slip_archive_refused(core: LocalCore, tmp_path: Path) -> None:
    recipes, arts = tmp_path / "recipes", tmp_path / "artifacts"
    (arts / "com.ex.Slip" / "1.0.0").mkdir(parents=True)
    with zipfile.ZipFile(arts / "com.ex.Slip" / "1.0.0" / "evil.zip", "w") as zf:
        zf.writestr("ok.txt", b"fine")
        zf.writestr("../../../../escaped.txt", b"pwned")
    write_recipe(recipes, recipe("com.ex.Slip", "1.0.0", sleeper("x"),
                                 artifacts=[{"Uri": "s3://b/evil.zip", "Unarchive": "ZIP"}]))
    dep = core.deploy("-r", str(recipes), "-a", str(arts), "-m", "com.ex.Slip=1.0.0")
    st = core.wait_deployment(dep)
    assert st["status"] == "FAILED" and "IO_UNZIP_ERROR" in st["Deployment Error Stack"]
    assert "zip slip" in st["Deployment Failure Cause"]
    assert not list(core.root.parent.rglob("escaped.txt"))
    assert not [p for p in (core.root / "packages" / "artifacts-unarchived").rglob("*") if p.is_file()]


def test_step_timeout_kills_whole_process_group(core: LocalCore, tmp_path: Path) -> None:
    recipes, pidfile = tmp_path / "recipes", tmp_path / "child.pid"
    write_recipe(recipes, recipe("com.ex.Slow", "1.0.0", {
        "Install": {"Script": f"sleep 30 & echo $! > {pidfile}; wait", "Timeout": 0.3}, "Run": "exec sleep 60"}))
    dep = core.deploy("-r", str(recipes), "-m", "com.ex.Slow=1.0.0", "-fp", "DO_NOTHING")
    st = core.wait_deployment(dep)
    assert st["Deployment Failure Cause"] == "Service com.ex.Slow in broken state after deployment"
    pid = int(pidfile.read_text())
    assert not Path(f"/proc/{pid}").exists() or "Z" in Path(f"/proc/{pid}/stat").read_text().split()[2]
    assert "service-step-timeout" in (core.root / "logs" / "greengrass.log").read_text()


def test_stop_restart_skipif_groups_and_queue(core: LocalCore, tmp_path: Path) -> None:
    recipes, marker = tmp_path / "recipes", tmp_path / "installed"
    write_recipe(recipes, recipe("com.ex.Svc", "1.0.0", {
        "Install": {"Script": f"touch {marker}", "Skipif": f"exists {tmp_path}"}, **sleeper("x")}))
    write_recipe(recipes, recipe("com.ex.Other", "1.0.0", {"Install": "sleep 1", **sleeper("y")}))
    # deployments submitted back to back queue up; one still QUEUED can be canceled
    first = core.deploy("-r", str(recipes), "-m", "com.ex.Svc=1.0.0")
    second = core.deploy("-r", str(recipes), "-m", "com.ex.Other=1.0.0", "--groupId", "thinggroup/lab")
    third = core.deploy("-r", str(recipes), "-m", "com.ex.Other=1.0.0")
    canceled = core.cli("deployment", "cancel", "-i", third)
    assert canceled.stdout.strip() == f"Cancel request submitted. Deployment ID: {third}"
    assert core.wait_deployment(first)["status"] == "SUCCEEDED"
    assert core.wait_deployment(second)["status"] == "SUCCEEDED"
    assert core.status(third)["status"] == "CANCELED"
    late = core.cli("deployment", "cancel", "-i", first, check=False)
    assert late.stdout.strip() == "Cancellation request is not processed because deployment is already finished"
    assert not marker.exists()  # Install skipped: `exists <dir>` was true
    core.cli("component", "stop", "--names", "com.ex.Svc")
    core.wait_state("com.ex.Svc", "FINISHED")
    core.cli("component", "restart", "-n", "com.ex.Svc,com.ex.Other")
    core.wait_state("com.ex.Svc", "RUNNING")
    # removing from the local group leaves the thing group's root component alone
    dep = core.deploy("--remove", "com.ex.Svc", "--remove", "com.ex.Other")
    assert core.wait_deployment(dep)["status"] == "SUCCEEDED"
    comps = core.components()
    assert "com.ex.Svc" not in comps and comps["com.ex.Other"]["State"] == "RUNNING"
    dep = core.deploy("--remove", "com.ex.Other", "--groupId", "thinggroup/lab")
    assert core.wait_deployment(dep)["status"] == "SUCCEEDED"
    assert "com.ex.Other" not in core.components()


def test_bootstrap_runs_before_install_and_its_failure_fails_the_deployment(core: LocalCore, tmp_path: Path) -> None:
    recipes, order = tmp_path / "recipes", tmp_path / "order"
    write_recipe(recipes, recipe("com.ex.Boot", "1.0.0", {
        "Bootstrap": f"echo bootstrap >> {order}; exit 100", "Install": f"echo install >> {order}", **sleeper("b")}))
    write_recipe(recipes, recipe("com.ex.Boot", "2.0.0", {"Bootstrap": "exit 5", **sleeper("b")}))
    dep = core.deploy("-r", str(recipes), "-m", "com.ex.Boot=1.0.0")
    assert core.wait_deployment(dep)["status"] == "SUCCEEDED"  # 100 = restart requested, not a failure
    assert order.read_text().split() == ["bootstrap", "install"]
    dep = core.deploy("-r", str(recipes), "-m", "com.ex.Boot=2.0.0", "-fp", "ROLLBACK")
    st = core.wait_deployment(dep)
    assert st["Detailed Status"] == "FAILED_ROLLBACK_COMPLETE" and "COMPONENT_BOOTSTRAP_ERROR" in st[
        "Deployment Error Stack"]
    core.wait_state("com.ex.Boot", "RUNNING")
    assert core.components()["com.ex.Boot"]["Version"] == "1.0.0"


@pytest.mark.skipif(os.geteuid() != 0 or not _user_exists("nobody"),
                    reason="dropping to the component user needs root and a 'nobody' user (CI runs as root)")
def test_scripts_run_as_component_user_unless_privileged() -> None:
    base = Path(tempfile.mkdtemp(prefix="gg-runas-"))  # pytest's tmp_path is 0700: the user could not enter it
    try:
        base.chmod(0o755)
        group = grp.getgrgid(pwd.getpwnam("nobody").pw_gid).gr_name
        core = LocalCore(base / "gg", run_as=f"nobody:{group}")
        core.start()
        try:
            recipes = base / "recipes"
            write_recipe(recipes, recipe("com.ex.Who", "1.0.0", {
                "Install": {"Script": "id -un > {work:path}/install-user", "RequiresPrivilege": True},
                "Run": "id -un > {work:path}/run-user; touch {work:path}/written; exec sleep 60"}))
            dep = core.deploy("-r", str(recipes), "-m", "com.ex.Who=1.0.0")
            assert core.wait_deployment(dep)["status"] == "SUCCEEDED"
            work = core.root / "work" / "com.ex.Who"
            assert (work / "install-user").read_text().strip() == "root"
            assert (work / "run-user").read_text().strip() == "nobody"
            assert work.stat().st_uid == pwd.getpwnam("nobody").pw_uid
        finally:
            core.stop()
    finally:
        shutil.rmtree(base, ignore_errors=True)


def test_footprint_goals(tmp_path: Path) -> None:
    """The issue's goals: start → ready ≤ 2 s, daemon idle RSS ≤ 30 MB (benchmarks/greengrass_emulator.py)."""
    core = LocalCore(tmp_path / "gg")
    try:
        assert core.start() <= 2.0
        status = Path(f"/proc/{core.nucleus_pid()}/status").read_text()
        rss_kb = int(next(line for line in status.splitlines() if line.startswith("VmRSS:")).split()[1])
        assert rss_kb <= 30 * 1024
    finally:
        core.stop()


def _log(core: LocalCore, name: str) -> str:
    path = core.root / "logs" / f"{name}.log"
    return path.read_text() if path.exists() else ""


def test_restart_and_stop_per_state_and_hard_dependers(core: LocalCore, tmp_path: Path) -> None:
    """Lifecycle.java:460-566,953-995: INSTALLED stops at once without Shutdown, a stop during Install lets
    it finish; a HARD dependency's restart restarts its running depender (GreengrassService.java:528-542)."""
    recipes = tmp_path / "recipes"
    write_recipe(recipes, recipe("com.ex.Slow", "1.0.0", {"Install": "sleep 3; echo installed", **sleeper("slow")}))
    hard = {"com.ex.Slow": {"VersionRequirement": "1.0.0", "DependencyType": "HARD"}}
    write_recipe(recipes, recipe("com.ex.Waiter", "1.0.0", {**sleeper("waiter"), "Shutdown": "echo waiter down"},
                                 dependencies=hard))
    dep = core.deploy("-r", str(recipes), "-m", "com.ex.Waiter=1.0.0")
    core.wait_state("com.ex.Waiter", "INSTALLED")
    core.cli("component", "stop", "--names", "com.ex.Waiter")
    core.wait_state("com.ex.Waiter", "FINISHED", timeout=2)
    core.cli("component", "stop", "--names", "com.ex.Slow")
    core.wait_state("com.ex.Slow", "FINISHED")
    assert "installed" in _log(core, "com.ex.Slow") and "run slow" not in _log(core, "com.ex.Slow")
    assert "waiter down" not in _log(core, "com.ex.Waiter")
    assert core.wait_deployment(dep)["status"] == "SUCCEEDED"
    core.cli("component", "restart", "--names", "com.ex.Slow,com.ex.Waiter")
    core.wait_state("com.ex.Waiter", "RUNNING")
    core.cli("component", "restart", "--names", "com.ex.Slow")
    assert poll_until(lambda: _log(core, "com.ex.Waiter").count("run waiter") == 2, 15)
    core.wait_state("com.ex.Waiter", "RUNNING")
    assert _log(core, "com.ex.Slow").count("installed") == 1  # a restart does not Install again


def test_bootstrap_only_for_new_component_or_version_and_store_keeps_previous(core: LocalCore, tmp_path: Path) -> None:
    recipes, arts = tmp_path / "recipes", tmp_path / "artifacts"
    for v in ("1.0.0", "2.0.0", "3.0.0"):
        write_recipe(recipes, recipe("com.ex.Boot", v, {"Bootstrap": "echo bootstrap", **sleeper()},
                                     config={"Message": v}))
        (arts / "com.ex.Boot" / v).mkdir(parents=True)
        (arts / "com.ex.Boot" / v / "v.txt").write_text(v)
    store = core.root / "packages" / "artifacts" / "com.ex.Boot"
    kept = []
    for v in ("1.0.0", "2.0.0", "3.0.0"):
        assert core.wait_deployment(core.deploy("-r", str(recipes), "-a", str(arts), "-m", f"com.ex.Boot={v}"))[
            "status"] == "SUCCEEDED"
        kept.append(sorted(p.name for p in store.iterdir()))
    assert kept == [["1.0.0"], ["1.0.0", "2.0.0"], ["2.0.0", "3.0.0"]]  # ComponentManager.java:621-654
    dep = core.deploy("-c", json.dumps({"com.ex.Boot": {"MERGE": {"Message": "same"}}}))
    assert core.wait_deployment(dep)["status"] == "SUCCEEDED"
    assert sorted(p.name for p in store.iterdir()) == ["3.0.0"]  # KernelConfigResolver.java:721-727
    write_recipe(recipes, recipe("com.ex.Boot", "4.0.0", {"Install": "exit 1", **sleeper()}))
    dep = core.deploy("-r", str(recipes), "-m", "com.ex.Boot=4.0.0", "-fp", "ROLLBACK")
    assert core.wait_deployment(dep)["Detailed Status"] == "FAILED_ROLLBACK_COMPLETE"
    assert sorted(p.name for p in store.iterdir()) == ["3.0.0", "4.0.0"]  # the failed one tried 4.0.0
    assert (core.root / "packages" / "recipes" / "com.ex.Boot-4.0.0.yaml").is_file()  # DefaultDeploymentTask:261
    assert _log(core, "com.ex.Boot").count("stdout. bootstrap") == 3  # not for the configuration change
    assert "bootstrap-restart-not-emulated" in (core.root / "logs" / "greengrass.log").read_text()
