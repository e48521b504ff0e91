"""The product as a user gets it: built into a wheel, installed into a fresh venv, run outside any checkout.

The wheel is built with ``pip wheel --no-deps`` (isolated build, as a user's pip does) from a copy of this
source tree, so the build never writes into the checkout and no stale ``build/`` can leak into it; the
sdist is built from the same copy (``python -m build --sdist`` when ``build`` is installed, else
setuptools' PEP 517 ``build_sdist`` hook that it would call) and must give the same wheel.

The venv: ``python -m venv`` outside the checkout, edge-hil installed from the wheel with ``--no-deps``,
dlr from PyPI's wheel, every other dependency seen as this run resolved it (tests/host/isolated_venv.py
says how and why). Commands run from a temporary directory with PYTHONPATH cleared and a private
HIL_STATE_DIR, so nothing can come from the checkout or the shared lab state.
"""

from __future__ import annotations

import ast
import importlib.metadata
import json
import os
import shutil
import subprocess
import sys
import tomllib
import zipfile
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.host.isolated_venv import Venv, clean_env, download_dlr, make_venv

pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parents[2]
DATA = ("devices", "fixtures")
IGNORED = shutil.ignore_patterns(".git", ".venv", ".tox", "build", "dist", "*.egg-info", "__pycache__", "*.py[cod]",
                                 ".pytest_cache", ".hypothesis", ".ruff_cache", ".benchmarks", "reports")
#: The embedded lab's devices (devices/lab.yaml).
EMBEDDED = {"ml-c4-emu", "rasp4b-emu"}


@dataclass(frozen=True)
class Built:
    wheel: Path
    wheel_from_sdist: Path
    sdist: Path


@dataclass(frozen=True)
class Installed:
    venv: Venv
    site: Path
    work: Path
    state: Path

    def run(self, *argv: str, cwd: Path | None = None, timeout: float = 600) -> subprocess.CompletedProcess[str]:
        return subprocess.run(list(argv), cwd=cwd or self.work, capture_output=True, text=True, timeout=timeout,
                              env=clean_env(self.venv, HIL_STATE_DIR=str(self.state)))

    def hil(self, *argv: str, cwd: Path | None = None, timeout: float = 600) -> subprocess.CompletedProcess[str]:
        return self.run(str(self.venv.bin / "hil"), *argv, cwd=cwd, timeout=timeout)


def _tracked_files() -> list[Path]:
    """The worktree's files as git sees them (tracked and new, not ignored), or None without git."""
    try:
        out = subprocess.run(["git", "-C", str(REPO), "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
                             capture_output=True, check=True, timeout=60).stdout
    except (OSError, subprocess.CalledProcessError):
        return []
    return [Path(name) for name in out.decode().split("\0") if name and (REPO / name).is_file()]


def _copy_source(dest: Path) -> Path:
    files = _tracked_files()
    if not files:
        shutil.copytree(REPO, dest, ignore=IGNORED, symlinks=True)
        return dest
    for rel in files:
        (dest / rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(REPO / rel, dest / rel)
    return dest


def _pip_wheel(source: Path, out: Path) -> Path:
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", str(source), "-w", str(out)],
                   check=True, timeout=600)
    return next(out.glob("edge_hil-*.whl"))


def _installed(distribution: str) -> bool:
    try:
        importlib.metadata.distribution(distribution)
    except importlib.metadata.PackageNotFoundError:
        return False
    return True


def _sdist(source: Path, out: Path) -> Path:
    """``python -m build --sdist`` when build is installed, else what it does: the build-system requirements
    installed apart (``pip install --target``) and setuptools' PEP 517 ``build_sdist`` run with only them."""
    if _installed("build"):
        argv, env = [sys.executable, "-m", "build", "--sdist", "--outdir", str(out), str(source)], None
    else:
        requires = tomllib.loads((source / "pyproject.toml").read_text())["build-system"]["requires"]
        backend = out.parent / "sdist-backend"
        subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "--target", str(backend), *requires],
                       check=True, timeout=600)
        argv = [sys.executable, "-S", "-c", f"from setuptools import build_meta; build_meta.build_sdist({str(out)!r})"]
        env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"} | {"PYTHONPATH": str(backend)}
    result = subprocess.run(argv, cwd=source, env=env, timeout=600, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    return next(out.glob("edge[-_]hil-*.tar.gz"))


def _names(wheel: Path) -> set[str]:
    with zipfile.ZipFile(wheel) as archive:
        return {n for n in archive.namelist() if not n.endswith("/")}


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Built:
    root = tmp_path_factory.mktemp("wheel-build")
    source = _copy_source(root / "src")
    sdist = _sdist(source, root / "sdist")
    return Built(_pip_wheel(source, root / "wheel"), _pip_wheel(sdist, root / "wheel-from-sdist"), sdist)


@pytest.fixture(scope="module")
def installed(built: Built, tmp_path_factory: pytest.TempPathFactory) -> Installed:
    root = tmp_path_factory.mktemp("wheel-venv")
    assert not root.resolve().is_relative_to(REPO)
    venv = make_venv(root)
    venv.pip_install(built.wheel, download_dlr(root / "downloads"))
    site = venv.site_packages()
    assert not (site / "dlr" / "counter" / "ccm_config.json").exists()  # as after a user's pip install
    (root / "work").mkdir()
    return Installed(venv, site, root / "work", root / "state")


def test_wheel_carries_the_data_under_harness_data(built: Built):
    names = _names(built.wheel)
    shipped = {n.removeprefix("harness/data/") for n in names if n.startswith("harness/data/")}
    in_tree = {p.as_posix() for p in _tracked_files() if p.parts[0] in DATA and "__pycache__" not in p.parts}
    in_tree = in_tree or {p.relative_to(REPO).as_posix() for d in DATA for p in (REPO / d).rglob("*") if p.is_file()}
    assert shipped == in_tree
    top = {n.split("/", 1)[0] for n in names if "/" in n and ".dist-info/" not in n}
    assert top == {"harness", "simulators"}  # never a top-level devices or fixtures package
    assert not [n for n in names if "__pycache__" in n or n.endswith((".pyc", ".pyo"))]
    for package_data in ("harness/runtime/src", "harness/runtime/probe", "harness/report/templates",
                         "harness/starter/templates"):
        in_package = {p.name for p in (REPO / package_data).iterdir() if p.is_file()}
        assert {n.rsplit("/", 1)[1] for n in names if n.rsplit("/", 1)[0] == package_data} == in_package
    simulators = {p.relative_to(REPO).as_posix() for p in (REPO / "simulators").rglob("*.py")}
    assert simulators <= names


def test_sdist_builds_the_same_wheel(built: Built):
    assert _names(built.wheel_from_sdist) == _names(built.wheel)


def test_installed_hil_runs_from_the_wheel(installed: Installed):
    where = installed.run(str(installed.venv.python), "-c", "import harness, simulators, harness.resources as r;"
                          "print(harness.__file__); print(simulators.__file__); print(r.layout().installed)")
    assert where.returncode == 0, where.stderr
    harness_file, simulators_file, wheel_mode = where.stdout.split()
    assert Path(harness_file).is_relative_to(installed.site) and Path(simulators_file).is_relative_to(installed.site)
    assert wheel_mode == "True"
    result = installed.hil("--help")
    assert result.returncode == 0, result.stderr
    for command in ("lab", "compile", "run", "init"):
        assert command in result.stdout


def test_lab_status_reads_the_embedded_lab(installed: Installed):
    result = installed.hil("lab", "status", "--json", timeout=300)
    assert "cannot read the lab file" not in result.stderr, result.stderr
    assert result.returncode in (0, 1), result.stderr  # 1: devices unreachable, the lab is not up here
    assert {row["name"] for row in json.loads(result.stdout)["devices"]} == EMBEDDED


def test_compile_the_bundled_model_from_the_installed_data(installed: Installed):
    found = installed.run(str(installed.venv.python), "-c",
                          "from harness.resources import bundled_model; print(bundled_model())")
    assert found.returncode == 0, found.stderr
    model = Path(found.stdout.strip())
    assert model.is_relative_to(installed.site / "harness" / "data")
    result = installed.hil("compile", str(model), "--target", "ml_c4", "--input-config", '{"data":[1,3,224,224]}',
                           "-o", "out/")
    assert result.returncode == 0, result.stderr
    artifact = installed.work / "out"
    assert (artifact / "compiled.so").stat().st_size > 0
    inspected = installed.hil("inspect", "out/", "--json")
    assert inspected.returncode == 0, inspected.stderr
    assert "ml_c4" in inspected.stdout


def test_init_then_pytest_collects_the_examples_for_each_device(installed: Installed):
    result = installed.hil("init", "demo")
    assert result.returncode == 0, result.stderr
    demo = installed.work / "demo"
    tests = [n.name for n in ast.parse((demo / "tests" / "test_hil_devices.py").read_text()).body
             if isinstance(n, ast.FunctionDef) and n.name.startswith("test_")]
    collected = installed.run(str(installed.venv.python), "-m", "pytest", "--collect-only", "-q", "-p",
                              "no:cacheprovider", cwd=demo, timeout=300)
    assert collected.returncode == 0, collected.stdout + collected.stderr
    ids = {line.strip() for line in collected.stdout.splitlines() if "::" in line}
    assert ids == {f"tests/test_hil_devices.py::{test}[{device}]" for test in tests for device in EMBEDDED}
    again = installed.hil("init", "demo")
    assert again.returncode == 0 and again.stdout.count("kept") == 4, again.stdout


def test_hil_switches_phone_home_off_in_the_venv_it_runs_in(installed: Installed):
    config = installed.site / "dlr" / "counter" / "ccm_config.json"
    result = installed.hil("--help")
    assert result.returncode == 0, result.stderr
    assert json.loads(config.read_text())["enable_phone_home"] is False
    imported = installed.run(str(installed.venv.python), "-c", "import dlr")  # safe now: it stays off
    assert imported.returncode == 0, imported.stderr
    assert json.loads(config.read_text())["enable_phone_home"] is False


def test_pytest_alone_switches_phone_home_off(installed: Installed):
    """A user's own pytest run, with no `hil` before it: the plugin (loaded through its entry point, before
    any conftest.py) writes the opt-out."""
    config = installed.site / "dlr" / "counter" / "ccm_config.json"
    config.unlink(missing_ok=True)  # as after `pip install`
    empty = installed.work / "no-tests"
    empty.mkdir()
    result = installed.run(str(installed.venv.python), "-m", "pytest", "--collect-only", "-q", "-p", "no:cacheprovider",
                           cwd=empty, timeout=300)
    assert result.returncode == 5, result.stdout + result.stderr  # 5: collected nothing, as there is nothing
    assert json.loads(config.read_text())["enable_phone_home"] is False
