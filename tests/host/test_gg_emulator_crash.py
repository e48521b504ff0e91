"""SIGKILL the nucleus at every step of a deployment: after the respawn the core holds the whole old set
or the whole new set (recipes, versions, configuration, running processes), and the deployment is final."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from simulators.greengrass.deployment import CRASH_STEPS
from simulators.greengrass.kernel import MARKER
from simulators.greengrass.localcore import LocalCore, recipe, write_recipe

AFTER_COMMIT = ("committed", "finished")


def _app(version: str, lib_req: str, message: str) -> dict:
    return recipe("com.ex.App", version, {"Run": "exec sleep 60", "Setenv": {"COMPONENT_ID": f"App-{version}"}},
                  dependencies={"com.ex.Lib": {"VersionRequirement": lib_req}}, config={"Message": message},
                  artifacts=[{"Uri": "s3://bucket/app.txt"}])


def _lib(version: str) -> dict:
    return recipe("com.ex.Lib", version, {"Run": "exec sleep 60", "Setenv": {"COMPONENT_ID": f"Lib-{version}"}})


OLD = {"com.ex.App": ("1.0.0", {"Message": "old"}), "com.ex.Lib": ("1.0.0", {})}
NEW = {"com.ex.App": ("2.0.0", {"Message": "new"}), "com.ex.Lib": ("2.0.0", {}),
       "com.ex.Extra": ("1.0.0", {})}


def running_ids(root: Path) -> list[str]:
    """COMPONENT_ID of every live process started by this root's nucleus."""
    ids = []
    for proc in Path("/proc").iterdir():
        try:
            env = (proc / "environ").read_bytes().split(b"\0")
            state = (proc / "stat").read_text().rsplit(")", 1)[1].split()[0]
        except (OSError, IndexError):
            continue
        if f"{MARKER}={root}".encode() in env and state != "Z":
            ids += [e.split(b"=", 1)[1].decode() for e in env if e.startswith(b"COMPONENT_ID=")]
    return sorted(ids)


@pytest.mark.parametrize("step", CRASH_STEPS)
def test_sigkill_at_step_leaves_whole_old_or_whole_new(tmp_path: Path, step: str) -> None:
    recipes = tmp_path / "recipes"
    for doc in (_app("1.0.0", "^1.0.0", "old"), _lib("1.0.0"), _app("2.0.0", "^2.0.0", "new"), _lib("2.0.0"),
                recipe("com.ex.Extra", "1.0.0", {"Run": "exec sleep 60", "Setenv": {"COMPONENT_ID": "Extra-1.0.0"}})):
        write_recipe(recipes, doc)
    artifacts = tmp_path / "artifacts"
    for version in ("1.0.0", "2.0.0"):
        (artifacts / "com.ex.App" / version).mkdir(parents=True)
        (artifacts / "com.ex.App" / version / "app.txt").write_text(version)
    core = LocalCore(tmp_path / "gg")
    core.start()
    try:
        first = core.deploy("-r", str(recipes), "-a", str(artifacts), "-m", "com.ex.App=1.0.0")
        assert core.wait_deployment(first)["status"] == "SUCCEEDED"
        core.stop()
        core.start(env={"GG_CRASH_AT": step})
        before = core.nucleus_pid()
        dep = core.deploy("-r", str(recipes), "-a", str(artifacts), "-m", "com.ex.App=2.0.0",
                          "-m", "com.ex.Extra=1.0.0",
                          "-c", json.dumps({"com.ex.App": {"MERGE": {"Message": "new"}}}))
        core.wait_ready(not_pid=before)  # the nucleus killed itself and the supervisor brought it back
        st = core.wait_deployment(dep)
        expected = NEW if step in AFTER_COMMIT else OLD
        assert st["status"] == ("SUCCEEDED" if step in AFTER_COMMIT else "FAILED")
        if st["status"] == "FAILED":
            assert "DEPLOYMENT_INTERRUPTED" in st["Deployment Error Stack"]
        for name in expected:
            core.wait_state(name, "RUNNING")
        comps = {n: c for n, c in core.components().items() if n.startswith("com.ex.")}
        assert {n: (c["Version"], json.loads(c["Configuration"])) for n, c in comps.items()} == expected
        versions = {n: {v} for n, (v, _) in expected.items()}
        if step in AFTER_COMMIT:  # the store keeps the previous version too (ComponentManager.java:621-654)
            for name, (version, _) in OLD.items():
                versions[name].add(version)
        recipes_on_core = sorted(p.name for p in (core.root / "packages" / "recipes").iterdir())
        assert recipes_on_core == sorted(f"{n}-{v}.yaml" for n, vs in versions.items() for v in vs)
        app_artifacts = core.root / "packages" / "artifacts" / "com.ex.App"
        assert sorted(p.name for p in app_artifacts.iterdir()) == sorted(versions["com.ex.App"])
        assert (app_artifacts / expected["com.ex.App"][0] / "app.txt").read_text() == expected["com.ex.App"][0]
        want = sorted(f"{n.rsplit('.', 1)[1]}-{v}" for n, (v, _) in expected.items())
        assert running_ids(core.root) == want
        assert not (core.root / "deployments" / "journal.json").exists()
    finally:
        core.stop()
    assert running_ids(core.root) == []
