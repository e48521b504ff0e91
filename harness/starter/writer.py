"""Writes the starter files once: an existing file is never overwritten, so `hil init` can run again safely."""

from __future__ import annotations

import configparser
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from harness.errors import FailureClass, HilError
from harness.resources import starter_templates_dir

Action = Literal["wrote", "kept", "skipped"]


@dataclass(frozen=True)
class StarterFile:
    template: str
    #: Where it goes, relative to the starter directory.
    target: str
    what: str


STARTER: tuple[StarterFile, ...] = (
    StarterFile("lab.yaml", "lab.yaml", "the embedded lab: ml-c4-emu (x86_64) and rasp4b-emu (arm64) emulated cores"),
    StarterFile("pytest.ini", "pytest.ini", "pytest runs on that lab: addopts = --lab lab.yaml"),
    StarterFile("starter_tests.py", "tests/test_hil_devices.py", "example tests: the device fixture, the arch marker"),
    StarterFile("README.md", "README.md", "what these files are and what to run"),
)
#: Files whose presence means pytest is configured already (pytest's rootdir/inifile rules).
PYTEST_FILES = ("pytest.toml", ".pytest.toml", ".pytest.ini")


@dataclass(frozen=True)
class Outcome:
    path: Path
    action: Action
    note: str


class StarterError(HilError):
    failure_class = FailureClass.HOST_SETUP


def other_pytest_config(directory: Path) -> Path | None:
    """A pytest configuration in ``directory`` that a new pytest.ini would silently take precedence over."""
    for name in PYTEST_FILES:
        if (directory / name).is_file():
            return directory / name
    pyproject = directory / "pyproject.toml"
    if pyproject.is_file():
        try:
            if "ini_options" in tomllib.loads(pyproject.read_text()).get("tool", {}).get("pytest", {}):
                return pyproject
        except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError):
            pass
    for name, section in (("tox.ini", "pytest"), ("setup.cfg", "tool:pytest")):
        parser = configparser.ConfigParser(interpolation=None)
        try:
            parser.read(directory / name)
        except (configparser.Error, UnicodeDecodeError):
            continue
        if parser.has_section(section):
            return directory / name
    return None


def write_starter(directory: Path) -> list[Outcome]:
    """Write the starter files into ``directory`` (created if needed); one outcome per file, in order."""
    directory = Path(directory)
    if directory.exists() and not directory.is_dir():
        raise StarterError(f"{directory} exists and is not a directory", step="hil init",
                           advice="name a new or existing directory")
    templates = starter_templates_dir()
    configured = other_pytest_config(directory) if directory.is_dir() else None
    outcomes = []
    for file in STARTER:
        target = directory / file.target
        if file.target == "pytest.ini" and configured is not None and not target.exists():
            outcomes.append(Outcome(target, "skipped", f"pytest is configured in {configured.name}: "
                                                       "add `--lab lab.yaml` to its addopts there"))
            continue
        outcomes.append(_write_once(target, (templates / file.template).read_text(), file.what))
    return outcomes


def _write_once(target: Path, text: str, what: str) -> Outcome:
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        with target.open("x") as out:  # O_EXCL: never replaces a file, nor writes through a symlink
            out.write(text)
    except FileExistsError:
        return Outcome(target, "kept", "exists, not overwritten")
    except OSError as exc:
        raise StarterError(f"cannot write {target}: {exc.strerror or exc}", step="hil init",
                           advice="choose a directory you can write to") from None
    return Outcome(target, "wrote", what)
