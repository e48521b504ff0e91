"""The AWS developer guide's sample components, unchanged, on every core of the lab through the command
line a user types (rows of docs/greengrass-conformance.md): the getting-started com.example.HelloWorld (no
Artifacts section: the nucleus copies the whole --artifactDir) and its --update-config upgrade, its ZIP
variant (Unarchive: ZIP, {artifacts:decompressedPath}), a component with a HARD dependency on it; plus the
artifact, configuration, recipe-key and variable rows."""

from __future__ import annotations

import json
import shutil
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.lab.gg_conformance import SERVE, Row, UserCore, component

SAMPLES = Path(__file__).resolve().parents[1] / "golden" / "aws-samples"
HELLO = "com.example.HelloWorld"
MERGE_HELLO = f'--merge "{HELLO}=1.0.0"'
OWNER = "ggc_user"


def _hello_world(core: UserCore, name: Callable[[str], str]) -> None:
    d = core.upload(SAMPLES / "hello-world", "greengrassv2")
    try:
        # Developer guide, "Create your first component": the exact command line.
        done = core.deployed(f"--recipeDir {d}/recipes --artifactDir {d}/artifacts {MERGE_HELLO}")
        assert done["status"] == "SUCCEEDED", done
        core.log_line(HELLO, "Hello, world!")
        assert core.reach(HELLO, "FINISHED")["version"] == "1.0.0"
        # "Update the configuration": a JSON file given to --update-config.
        update = core.deployed(f"{MERGE_HELLO} --update-config {d}/hello-world-config-update.json")
        assert update["status"] == "SUCCEEDED", update
        core.log_line(HELLO, "Hello, friend!")
        assert core.reach(HELLO, "FINISHED")["configuration"] == '{"Message":"friend"}'
    finally:
        core.remove(HELLO)


def _zip_unarchive(core: UserCore, name: Callable[[str], str]) -> None:
    """The guide's ZIP variant: hello_world.py zipped as HelloWorld.zip, run from the unpacked directory."""
    app = name("com.example.HelloWorldZip")
    local = Path(core.work, "zip")
    artifacts = local / "artifacts" / app / "1.0.0"
    artifacts.mkdir(parents=True)
    with zipfile.ZipFile(artifacts / "HelloWorld.zip", "w") as zf:
        zf.write(SAMPLES / "hello-world" / "artifacts" / HELLO / "1.0.0" / "hello_world.py", "hello_world.py")
    recipe = yaml.safe_load((SAMPLES / "hello-world" / "recipes" / f"{HELLO}-1.0.0.yaml").read_text())
    recipe["ComponentName"] = app
    for manifest in recipe["Manifests"]:
        manifest["Lifecycle"]["Run"] = manifest["Lifecycle"]["Run"].replace(
            "{artifacts:path}", "{artifacts:decompressedPath}/HelloWorld")
        manifest["Artifacts"] = [{"URI": f"s3://DOC-EXAMPLE-BUCKET/artifacts/{app}/1.0.0/HelloWorld.zip",
                                  "Unarchive": "ZIP"}]
    (local / "recipes").mkdir()
    (local / "recipes" / f"{app}-1.0.0.yaml").write_text(yaml.safe_dump(recipe, sort_keys=False))
    d = core.upload(local, "zip")
    assert core.deployed(f"-r {d}/recipes -a {d}/artifacts -m {app}=1.0.0")["status"] == "SUCCEEDED"
    core.log_line(app, "Hello, world!")
    core.remove(app)


def _hard_dependency(core: UserCore, name: Callable[[str], str]) -> None:
    greeter = name("com.example.Greeter")
    local = Path(core.work, "dep")
    shutil.copytree(SAMPLES / "hello-world", local)
    (local / "recipes" / f"{greeter}-1.0.0.yaml").write_text(yaml.safe_dump(component(
        greeter, "1.0.0", {"Run": f'python3 -u {{{HELLO}:artifacts:path}}/hello_world.py "{{configuration:/Name}}"'},
        ComponentConfiguration={"DefaultConfiguration": {"Name": "neighbour"}},
        ComponentDependencies={HELLO: {"VersionRequirement": ">=1.0.0 <2.0.0", "DependencyType": "HARD"}}),
        sort_keys=False))
    d = core.upload(local, "dep")
    try:
        assert core.deployed(f"-r {d}/recipes -a {d}/artifacts -m {greeter}=1.0.0")["status"] == "SUCCEEDED"
        core.log_line(greeter, "Hello, neighbour!")
        assert core.reach(HELLO, "FINISHED")["version"] == "1.0.0"  # resolved from the local recipes
    finally:
        core.remove(greeter)
    assert core.details(HELLO) is None  # a dependency nobody needs any more goes too


def _artifact_permissions(core: UserCore, name: Callable[[str], str]) -> None:
    app = name("com.example.Perms")
    d = core.recipes(component(app, "1.0.0", {"Run": "stat -c 'owner=%U mode=%a' {artifacts:path}/tool.sh "
                                                     "{artifacts:path}/data/table.txt; sh {artifacts:path}/tool.sh"}),
                     files={f"{app}-1.0.0": {"tool.sh": b"echo tool ran\n"}})
    core.transport.check(["sh", "-c", f"mkdir -p {d}/artifacts/{app}/1.0.0/data && echo row > "
                          f"{d}/artifacts/{app}/1.0.0/data/table.txt && chmod 0755 {d}/artifacts/{app}/1.0.0/tool.sh"],
                         timeout=30, step="stage artifacts")
    assert core.deployed(f"-r {d}/recipes -a {d}/artifacts -m {app}=1.0.0")["status"] == "SUCCEEDED"
    core.log_line(app, "tool ran")
    log = core.log(app)
    # undeclared files, copied whole, modes kept, owned by the component user (the cores run as ggc_user)
    assert f"owner={OWNER} mode=755" in log and f"owner={OWNER} mode=644" in log, log
    core.remove(app)


def _configuration_merge_reset(core: UserCore, name: Callable[[str], str]) -> None:
    app = name("com.example.Config")
    d = core.recipes(component(app, "1.0.0", SERVE, ComponentConfiguration={"DefaultConfiguration": {
        "Tag": "default", "Keep": "k"}}))
    core.deployed(f"-r {d}/recipes -m {app}=1.0.0")
    merge = f'--update-config \'{{"{app}":{{"MERGE":{{"Tag":"merged"}}}}}}\''
    core.deployed(merge)
    assert json.loads(core.reach(app, "RUNNING")["configuration"]) == {"Keep": "k", "Tag": "merged"}
    core.log_line(app, "serving merged")
    core.deployed(f'--update-config \'{{"{app}":{{"RESET":["/Tag"]}}}}\'')
    assert json.loads(core.reach(app, "RUNNING")["configuration"]) == {"Keep": "k", "Tag": "default"}
    core.remove(app)


def _recipe_keys_and_manifests(core: UserCore, name: Callable[[str], str]) -> None:
    app = name("com.example.Keys")
    recipe: dict[str, Any] = {
        "recipeformatversion": "2020-01-25", "componentname": app, "componentversion": "1.0.0",
        "manifests": [
            {"platform": {"os": "windows"}, "lifecycle": {"run": "echo wrong manifest"}},
            {"platform": {"os": "linux"}, "lifecycle": {"run": "echo first linux manifest {nope:x}"}},
            {"platform": {"os": "*"}, "lifecycle": {"run": "echo later manifest"}}]}
    d = core.recipes(recipe)
    assert core.deployed(f"-r {d}/recipes -m {app}=1.0.0")["status"] == "SUCCEEDED"
    core.log_line(app, "first linux manifest {nope:x}")  # lower-case keys; first match; unknown variable kept
    assert "manifest" not in core.log(app).replace("first linux manifest", "")
    core.remove(app)


def _hard_and_soft_dependencies(core: UserCore, name: Callable[[str], str]) -> None:
    """A HARD dependent starts once its dependency runs; a SOFT one does not wait for it."""
    slow, hard, soft = name("com.example.SlowDep"), name("com.example.HardUser"), name("com.example.SoftUser")
    ready = f"cat {{{slow}:work:path}}/ready 2>/dev/null || echo not ready"
    d = core.recipes(
        component(slow, "1.0.0", {"Install": "sleep 20", "Run": "echo ready > {work:path}/ready; exec sleep 3600"}),
        component(hard, "1.0.0", {"Run": f"echo hard sees $({ready}); exec sleep 3600"},
                  ComponentDependencies={slow: {"VersionRequirement": "1.0.0", "DependencyType": "HARD"}}),
        component(soft, "1.0.0", {"Run": f"echo soft sees $({ready}); exec sleep 3600"},
                  ComponentDependencies={slow: {"VersionRequirement": "1.0.0", "DependencyType": "SOFT"}}))
    done = core.deployed(f"-r {d}/recipes -m {hard}=1.0.0 -m {soft}=1.0.0")
    assert done["status"] == "SUCCEEDED", done
    core.log_line(hard, "hard sees ready")
    core.log_line(soft, "soft sees not ready")
    core.remove(hard, soft)


def _artifact_permission_field(core: UserCore, name: Callable[[str], str]) -> None:
    """The recipe's Permission (Read/Execute: NONE/OWNER/ALL) on declared artifacts and on what they unpack to."""
    app = name("com.example.Modes")
    local = Path(core.work, "modes")
    artifacts = local / "artifacts" / app / "1.0.0"
    artifacts.mkdir(parents=True)
    files = {"default.txt": None, "all.txt": {"Read": "ALL"}, "none.txt": {"Read": "NONE"},
             "owner.sh": {"Execute": "OWNER"}, "all.sh": {"Read": "ALL", "Execute": "ALL"}}
    for file in files:
        (artifacts / file).write_text("echo tool ran\n")
    with zipfile.ZipFile(artifacts / "tools.zip", "w") as zf:
        zf.writestr("bin/run.sh", "echo unpacked tool ran\n")
    declared = [{"URI": f"s3://DOC-EXAMPLE-BUCKET/{file}", **({"Permission": perm} if perm else {})}
                for file, perm in files.items()]
    declared.append({"URI": "s3://DOC-EXAMPLE-BUCKET/tools.zip", "Unarchive": "ZIP",
                     "Permission": {"Execute": "OWNER"}})
    listed = " ".join([*files, "tools.zip"])
    run = (f"cd {{artifacts:path}} && stat -c '%n=%a:%U' {listed} && sh owner.sh && "
           f"cd {{artifacts:decompressedPath}}/tools && stat -c 'unpacked %n=%a:%U' . bin bin/run.sh && ./bin/run.sh")
    (local / "recipes").mkdir()
    (local / "recipes" / f"{app}-1.0.0.yaml").write_text(yaml.safe_dump(
        component(app, "1.0.0", {"Run": run}, artifacts=declared), sort_keys=False))
    d = core.upload(local, "modes")
    try:
        assert core.deployed(f"-r {d}/recipes -a {d}/artifacts -m {app}=1.0.0")["status"] == "SUCCEEDED"
        core.log_line(app, "unpacked tool ran")
        log = core.log(app)
        # Permission.toFileSystemPermission: owner always reads, the group counts as owner, execute implies
        # read, no write bit (the nucleus runs as root); unpacked directories rwxr-xr-x
        expected = {"default.txt": 440, "all.txt": 444, "none.txt": 400, "owner.sh": 550, "all.sh": 555,
                    "tools.zip": 550, "unpacked .": 755, "unpacked bin": 755, "unpacked bin/run.sh": 550}
        for file, mode in expected.items():
            assert f"{file}={mode}:{OWNER}" in log, (file, log[-1500:])
    finally:
        core.remove(app)


def _store_keeps_previous_version(core: UserCore, name: Callable[[str], str]) -> None:
    """The store keeps the running and the previous version; a deployment that keeps the version forgets the
    previous one (the nucleus stores the running version as previous); a removed component leaves nothing."""
    app = name("com.example.Store")
    versions = ("1.0.0", "2.0.0", "3.0.0")
    d = core.recipes(*(component(app, v, SERVE, ComponentConfiguration={"DefaultConfiguration": {"Tag": v}})
                       for v in versions), files={f"{app}-{v}": {"v.txt": v.encode()} for v in versions})

    def stored() -> list[str]:
        return sorted(core.sh(f"sudo -n ls /greengrass/v2/packages/artifacts/{app} 2>/dev/null || true").stdout.split())

    try:
        kept = []
        for v in versions:
            assert core.deployed(f"-r {d}/recipes -a {d}/artifacts -m {app}={v}")["status"] == "SUCCEEDED"
            kept.append(stored())
        assert kept == [["1.0.0"], ["1.0.0", "2.0.0"], ["2.0.0", "3.0.0"]]
        core.deployed(f'--update-config \'{{"{app}":{{"MERGE":{{"Tag":"same version"}}}}}}\'')
        assert stored() == ["3.0.0"]
    finally:
        core.remove(app)
    assert stored() == []


SAMPLE_ROWS: dict[str, Row] = {
    "dependency-hard-soft-start-order": _hard_and_soft_dependencies,
    "sample-hello-world-artifact-dir-and-update-config": _hello_world,
    "sample-zip-unarchive-decompressed-path": _zip_unarchive,
    "sample-hard-dependency": _hard_dependency,
    "artifact-copy-permissions-ownership": _artifact_permissions,
    "configuration-merge-reset": _configuration_merge_reset,
    "recipe-key-case-manifest-selection-variables": _recipe_keys_and_manifests,
    "artifact-permission-field-unarchive": _artifact_permission_field,
    "store-keeps-running-and-previous-version": _store_keeps_previous_version,
}


@pytest.mark.parametrize("row", sorted(SAMPLE_ROWS))
def test_conformance_sample_row(row: str, core: UserCore, gg_name: Callable[[str], str]) -> None:
    SAMPLE_ROWS[row](core, gg_name)
