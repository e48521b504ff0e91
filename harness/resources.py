"""Where the product's data lives: package data of an installed wheel, or the top level of a source checkout.

The repository keeps ``devices/`` (the embedded lab, device profiles, core image layers, emulated cpuinfo)
and ``fixtures/`` (the bundled model, test images) beside ``harness/``. A wheel carries both as
``harness/data/devices`` and ``harness/data/fixtures`` (setup.py's build step puts them there), found
through :mod:`importlib.resources`; a checkout or an editable install reads the top-level directories.
Everything else in the harness asks this module, never ``Path(__file__).parents[...]``.
"""

from __future__ import annotations

import importlib.resources
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Literal

from harness.errors import FailureClass, HilError

DataName = Literal["devices", "fixtures"]
DATA_NAMES: tuple[DataName, ...] = ("devices", "fixtures")
#: Inside the ``harness`` package of an installed wheel.
WHEEL_DATA = "data"
DISTRIBUTION = "edge-hil"


class DataMissing(HilError):
    """The product's data is not where this installation keeps it: an incomplete wheel or checkout."""

    failure_class = FailureClass.HOST_SETUP


@dataclass(frozen=True)
class Layout:
    """One installation of the harness: where its packages are and where its data is."""

    #: The ``harness`` package directory.
    package_dir: Path
    #: The directory holding ``devices/`` and ``fixtures/``.
    data_root: Path
    #: True for package data of an installed wheel, False for a source checkout (editable installs too).
    installed: bool

    @property
    def code_root(self) -> Path:
        """The directory holding the ``harness`` and ``simulators`` packages (site-packages or the checkout).

        Core image layers name the files they copy relative to it (``simulators/greengrass``).
        """
        return self.package_dir.parent

    def data(self, name: DataName, *parts: str) -> Path:
        """``devices/…`` or ``fixtures/…`` of this installation; DataMissing names what to reinstall."""
        if name not in DATA_NAMES:
            raise ValueError(f"unknown data directory {name!r} (known: {', '.join(DATA_NAMES)})")
        path = self.data_root.joinpath(name, *parts)
        if not path.exists():
            raise DataMissing(f"{path} is missing from this {self._kind()}", step="data",
                              advice=self.reinstall_advice)
        return path

    def reports_dir(self) -> Path:
        """Where runs write reports: the checkout's ``reports/``, else ``reports/`` of the current directory."""
        return Path.cwd() / "reports" if self.installed else self.data_root / "reports"

    def _kind(self) -> str:
        return f"installed {DISTRIBUTION} wheel" if self.installed else "source checkout"

    @property
    def reinstall_advice(self) -> str:
        """What to do when data is missing: reinstall the wheel, or restore the checkout's directories."""
        if self.installed:
            return (f"reinstall {DISTRIBUTION} from a complete wheel: `pip install --force-reinstall "
                    f"edge_hil-<version>-py3-none-any.whl` (`pip wheel --no-deps .` in the repository builds one "
                    f"with harness/data/devices and harness/data/fixtures)")
        return f"restore devices/ and fixtures/ in {self.data_root} (`git checkout -- devices fixtures`)"


def locate(package_dir: Path) -> Layout:
    """The layout around the ``harness`` package at ``package_dir``: wheel package data first, then a checkout.

    A checkout is recognised by its ``pyproject.toml`` beside ``devices/``, so a site-packages directory
    never passes for one.
    """
    package_dir = Path(package_dir)
    wheel_data = package_dir / WHEEL_DATA
    if (wheel_data / "devices").is_dir():
        return Layout(package_dir, wheel_data, installed=True)
    root = package_dir.parent
    if (root / "devices").is_dir() and (root / "pyproject.toml").is_file():
        return Layout(package_dir, root, installed=False)
    raise DataMissing(
        f"{DISTRIBUTION}'s data (devices/, fixtures/) is missing: neither {wheel_data}/devices (an installed wheel) "
        f"nor {root}/devices beside pyproject.toml (a source checkout) exists", step="data",
        advice=f"reinstall {DISTRIBUTION} from a wheel built with `pip wheel --no-deps .` in its repository "
               f"(`pip install --force-reinstall edge_hil-<version>-py3-none-any.whl`), or run from a checkout")


@cache
def layout() -> Layout:
    """The layout of the running harness, found through importlib.resources."""
    package = importlib.resources.files("harness")
    if not isinstance(package, Path):  # a zip import: docker builds, gcc and copytree need real files
        raise DataMissing(f"the harness package is not a directory on disk ({package})", step="data",
                          advice=f"install {DISTRIBUTION} with pip (wheels unpack into site-packages)")
    return locate(package)


def data_dir(name: DataName) -> Path:
    """``devices`` or ``fixtures`` of the running installation."""
    return layout().data(name)


def devices_dir() -> Path:
    return layout().data("devices")


def default_lab_file() -> Path:
    """The embedded lab: one x86_64 (ml_c4) and one arm64 (rasp4b) emulated core."""
    return layout().data("devices", "lab.yaml")


def profiles_dir() -> Path:
    return layout().data("devices", "profiles")


def layers_dir() -> Path:
    """The core image layers (devices/images/README.md describes their format)."""
    return layout().data("devices", "images", "layers")


def cpuinfo_dir() -> Path:
    """The /proc/cpuinfo blocks bind-mounted into cores emulated with qemu-user."""
    return layout().data("devices", "images", "cpuinfo")


def fixtures_dir() -> Path:
    return layout().data("fixtures")


def bundled_model() -> Path:
    """The bundled tiny CNN (ONNX, input ``data`` 1×3×224×224)."""
    return layout().data("fixtures", "model", "tinycnn.onnx")


def fixture_images_dir() -> Path:
    return layout().data("fixtures", "images")


def code_root() -> Path:
    """The directory holding the ``harness`` and ``simulators`` packages: what image layers copy from."""
    return layout().code_root


def reports_dir() -> Path:
    return layout().reports_dir()


def runtime_sources_dir() -> Path:
    """The project's libdlr C++ sources (package data of ``harness.runtime``)."""
    return _package_file("runtime", "src")


def libdlr_probe_source() -> Path:
    """The C program that exercises a libdlr through the DLR C API (``hil runtime`` probes)."""
    return _package_file("runtime", "probe", "dlr_probe.c")


def report_templates_dir() -> Path:
    return _package_file("report", "templates")


def starter_templates_dir() -> Path:
    """What `hil init` writes (package data of ``harness.starter``)."""
    return _package_file("starter", "templates")


def _package_file(*parts: str) -> Path:
    path = layout().package_dir.joinpath(*parts)
    if not path.exists():
        raise DataMissing(f"{path} is missing from the harness package", step="data", advice=layout().reinstall_advice)
    return path
