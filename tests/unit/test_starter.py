"""`hil init`'s writer: the starter files, written once and never overwritten."""

import ast
import configparser
from pathlib import Path

import pytest

from harness.lab.inventory import load_lab
from harness.starter.writer import STARTER, StarterError, other_pytest_config, write_starter

TARGETS = [f.target for f in STARTER]


def by_target(directory: Path, outcomes) -> dict[str, str]:
    return {o.path.relative_to(directory).as_posix(): o.action for o in outcomes}


def test_writes_every_starter_file_into_a_new_directory(tmp_path: Path):
    directory = tmp_path / "demo" / "hil"
    outcomes = write_starter(directory)
    assert by_target(directory, outcomes) == {t: "wrote" for t in TARGETS}
    assert all((directory / t).is_file() for t in TARGETS)


def test_starter_lab_is_the_embedded_lab(tmp_path: Path):
    write_starter(tmp_path)
    starter, embedded = load_lab(tmp_path / "lab.yaml"), load_lab()
    assert starter.spec.lab == embedded.spec.lab
    assert [(d.name, d.profile, d.emulated) for d in starter.spec.devices] == \
           [(d.name, d.profile, d.emulated) for d in embedded.spec.devices]
    assert {starter.profile_of(d).arch for d in starter.spec.devices} == {"x86_64", "aarch64"}
    text = (tmp_path / "lab.yaml").read_text()
    assert "#    connection: ssh://" in text and "hil lab import-idt" in text


def test_pytest_ini_points_at_the_starter_lab(tmp_path: Path):
    write_starter(tmp_path)
    ini = configparser.ConfigParser()
    ini.read(tmp_path / "pytest.ini")
    assert ini["pytest"]["addopts"].split() == ["--lab", "lab.yaml"]
    assert (tmp_path / ini["pytest"]["testpaths"] / "test_hil_devices.py").is_file()


def test_example_tests_use_the_device_fixture_and_the_arch_marker(tmp_path: Path):
    write_starter(tmp_path)
    tree = ast.parse((tmp_path / "tests" / "test_hil_devices.py").read_text())
    tests = [n for n in tree.body if isinstance(n, ast.FunctionDef) and n.name.startswith("test_")]
    assert tests and all([a.arg for a in t.args.args] == ["device"] for t in tests)
    markers = [ast.unparse(d) for t in tests for d in t.decorator_list]
    assert "pytest.mark.arch('aarch64')" in markers


def test_second_run_keeps_everything_and_the_users_edits(tmp_path: Path):
    write_starter(tmp_path)
    (tmp_path / "lab.yaml").write_text("lab: mine\ndevices: []\n")
    before = {t: (tmp_path / t).read_text() for t in TARGETS}
    outcomes = write_starter(tmp_path)
    assert by_target(tmp_path, outcomes) == {t: "kept" for t in TARGETS}
    assert {t: (tmp_path / t).read_text() for t in TARGETS} == before


def test_existing_files_are_kept_and_the_rest_written(tmp_path: Path):
    (tmp_path / "README.md").write_text("# my project\n")
    outcomes = write_starter(tmp_path)
    assert by_target(tmp_path, outcomes)["README.md"] == "kept"
    assert (tmp_path / "README.md").read_text() == "# my project\n"
    assert by_target(tmp_path, outcomes)["lab.yaml"] == "wrote"


def test_never_writes_through_a_symlink(tmp_path: Path):
    elsewhere = tmp_path / "elsewhere.yaml"
    (tmp_path / "demo").mkdir()
    (tmp_path / "demo" / "lab.yaml").symlink_to(elsewhere)
    outcomes = write_starter(tmp_path / "demo")
    assert by_target(tmp_path / "demo", outcomes)["lab.yaml"] == "kept"
    assert not elsewhere.exists()


@pytest.mark.parametrize(("name", "text"), [
    ("pyproject.toml", "[tool.pytest.ini_options]\naddopts = '-q'\n"),
    ("tox.ini", "[tox]\nenvlist = py\n\n[pytest]\naddopts = -q\n"),
    ("setup.cfg", "[tool:pytest]\naddopts = -q\n"),
    ("pytest.toml", "[pytest]\n"),
])
def test_pytest_ini_is_not_added_beside_another_pytest_config(tmp_path: Path, name: str, text: str):
    (tmp_path / name).write_text(text)
    outcomes = write_starter(tmp_path)
    ini = next(o for o in outcomes if o.path.name == "pytest.ini")
    assert ini.action == "skipped" and name in ini.note and "--lab lab.yaml" in ini.note
    assert not (tmp_path / "pytest.ini").exists()
    assert (tmp_path / "lab.yaml").is_file()


@pytest.mark.parametrize(("name", "text"), [
    ("pyproject.toml", "[project]\nname = 'x'\n[tool.ruff]\nline-length = 100\n"),
    ("pyproject.toml", "not [valid toml"),
    ("tox.ini", "[tox]\nenvlist = py\n"),
    ("setup.cfg", "[metadata]\nname = x\n"),
])
def test_configs_without_a_pytest_section_do_not_count(tmp_path: Path, name: str, text: str):
    (tmp_path / name).write_text(text)
    assert other_pytest_config(tmp_path) is None
    assert (tmp_path / "pytest.ini") in [o.path for o in write_starter(tmp_path) if o.action == "wrote"]


def test_a_file_in_place_of_the_directory_is_an_error(tmp_path: Path):
    (tmp_path / "demo").write_text("")
    with pytest.raises(StarterError, match="exists and is not a directory"):
        write_starter(tmp_path / "demo")
