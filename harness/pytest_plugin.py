"""The pytest plugin: lab options, a ``device`` fixture parametrized over the lab, selection markers.

Every test that takes ``device`` runs once per lab device (ids = device names). Markers
``arch``/``profile``/``feature`` skip devices that do not match, with the reason in the report;
an unreachable device errors its own tests with the device's reason, not the whole session.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from harness.errors import HilError
from harness.greengrass.steps import gg_name, gg_run_id, greengrass  # noqa: F401 - fixtures for plugin users
from harness.lab.inventory import DeviceSpec, Lab, load_lab
from harness.results import hil_record  # noqa: F401 - fixture for scenario tests

if TYPE_CHECKING:  # the engine and SSH clients load only in sessions that use the lab
    from harness.artifact.package import Artifact
    from harness.lab.bringup import LabController
    from harness.lab.device import Device

_LAB_KEY = pytest.StashKey[Lab]()
pytest_plugins = ["harness.bench.pytest_options"]  # --budget, --bench-json and their fixtures


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("hil", "edge-ML hardware-in-the-loop lab")
    group.addoption("--lab", type=Path, default=None, metavar="FILE",
                    help="lab file (default: the embedded lab, devices/lab.yaml)")
    group.addoption("--device", action="append", default=[], metavar="NAME",
                    help="run device tests only on this device (repeatable)")
    group.addoption("--arch", action="append", default=[], metavar="ARCH",
                    help="run device tests only on devices of this architecture, e.g. aarch64 (repeatable)")
    group.addoption("--no-lab-up", action="store_true",
                    help="use the lab as it is: do not build images or start emulated cores")


def pytest_configure(config: pytest.Config) -> None:
    for line in ("arch(*names): run only on devices whose profile has one of these architectures",
                 "profile(*names): run only on devices with one of these profiles",
                 "feature(name, value): run only on devices with this feature (value optional)",
                 "lab: needs the device lab (emulated cores or real boards)"):
        config.addinivalue_line("markers", line)


def lab_of(config: pytest.Config) -> Lab:
    """The lab file of this run, loaded and validated once."""
    if _LAB_KEY not in config.stash:
        config.stash[_LAB_KEY] = load_lab(config.getoption("--lab"))
    return config.stash[_LAB_KEY]


def selected_devices(config: pytest.Config) -> list[DeviceSpec]:
    lab = lab_of(config)
    names, arches = config.getoption("--device"), config.getoption("--arch")
    for name in names:
        lab.device(name)  # an unknown name is an error naming the known ones
    return [d for d in lab.spec.devices
            if (not names or d.name in names) and (not arches or lab.profile_of(d).arch in arches)]


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "device" in metafunc.fixturenames:
        names = [d.name for d in selected_devices(metafunc.config)]
        metafunc.parametrize("device", names, indirect=True, ids=names)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if "device" in getattr(item, "fixturenames", ()) or "lab" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.lab)


def device_of(nodeid: str, devices: list[str]) -> str | None:
    """The lab device in a test id's parameters (``test_x[rasp4b-emu-health]`` -> ``rasp4b-emu``)."""
    params = nodeid[nodeid.rfind("[") + 1:-1] if nodeid.endswith("]") else ""
    found = [d for d in devices if params == d or params.startswith(f"{d}-") or params.endswith(f"-{d}")
             or f"-{d}-" in params]
    return max(found, key=len) if found else None


def staggered(nodeids: list[str], position: int, devices: int) -> list[str]:
    """One device's tests with its modules rotated by its position among ``devices``: each device
    starts at a different module, so the measurements (one at a time per host) and the heavy steps of
    emulated cores on one host do not all fall due at once. Each module's tests stay together and in
    order, so module-scoped deployments are made and removed once."""
    modules: dict[str, list[str]] = {}
    for nodeid in nodeids:
        modules.setdefault(nodeid.split("::", 1)[0], []).append(nodeid)
    order = list(modules)
    shift = (position * len(order)) // max(devices, 1)
    return [nodeid for module in order[shift:] + order[:shift] for nodeid in modules[module]]


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_make_scheduler(config: pytest.Config, log: object) -> object:
    """``-n N --dist loadgroup``: one work unit per device, so devices run in parallel and each device's
    tests stay on one worker (module-scoped deployments are not shared across workers), its modules
    :func:`staggered`.

    pytest 9.2 derives ``nodeid`` from the node's own id, so xdist 3.8's ``xdist_group`` renaming no
    longer reaches the scheduler: tests are grouped by their device parameter here instead.
    """
    if config.getvalue("dist") != "loadgroup":
        return None
    from xdist.scheduler import LoadScopeScheduling

    devices = [d.name for d in selected_devices(config)]

    class DeviceScheduling(LoadScopeScheduling):
        def _split_scope(self, nodeid: str) -> str:
            return device_of(nodeid, devices) or nodeid

        def _assign_work_unit(self, node: object) -> None:
            scope, unit = next(iter(self.workqueue.items()))
            if scope in devices:
                order = staggered(list(unit), devices.index(scope), len(devices))
                self.workqueue[scope] = {nodeid: unit[nodeid] for nodeid in order}
            super()._assign_work_unit(node)

    return DeviceScheduling(config, log)


def mismatch(item: pytest.Item, device: Device) -> str | None:
    """Why ``device`` does not suit the test's markers, or None."""
    for mark in item.iter_markers("arch"):
        if device.profile.arch not in mark.args:
            return f"{device.name} is {device.profile.arch}; test needs {' or '.join(mark.args)}"
    for mark in item.iter_markers("profile"):
        if device.profile.name not in mark.args:
            return f"{device.name} has profile {device.profile.name}; test needs {' or '.join(mark.args)}"
    for mark in item.iter_markers("feature"):
        name, *value = mark.args
        have = device.features.get(name)
        if have is None or (value and have != str(value[0])):
            wanted = f"{name}={value[0]}" if value else name
            return f"{device.name} lacks feature {wanted} (has {name}={have})"
    return None


@pytest.fixture(scope="session")
def lab(request: pytest.FixtureRequest) -> Iterator[LabController]:
    """The session's lab, brought up once (a lab already up is only verified); left up for the next run."""
    from harness.lab.bringup import LabController
    from harness.primitives.progress import say

    controller = LabController(lab_of(request.config), say)
    if not request.config.getoption("--no-lab-up"):
        # Image builds take minutes on a fresh machine: let their progress through pytest's capture.
        capture = request.config.pluginmanager.getplugin("capturemanager")
        with capture.global_and_fixture_disabled():
            controller.up()
    yield controller


@pytest.fixture(scope="session")
def _device_handles(lab: LabController) -> Iterator[dict[str, Device]]:
    handles: dict[str, Device] = {}
    yield handles
    for device in handles.values():
        device.transport.close()


@pytest.fixture
def device(request: pytest.FixtureRequest, lab: LabController, _device_handles: dict[str, Device]) -> Device:
    """One lab device, reachable (its `uname -m` was read), matching the test's markers."""
    name: str = request.param
    handle = _device_handles.get(name)
    if handle is None:
        handle = lab.device(name)
        _device_handles[name] = handle
    reason = mismatch(request.node, handle)
    if reason:
        pytest.skip(reason)
    try:
        handle.arch  # noqa: B018 - reading it proves the device answers
    except HilError:
        _device_handles.pop(name, None)
        raise
    return handle


@pytest.fixture
def compiled_model(device: Device, tmp_path_factory: pytest.TempPathFactory) -> Artifact:
    """The bundled model compiled for the device's Neo target (through the compile cache)."""
    from harness.compile.bundled import compile_bundled  # imports TVM: only for tests that compile

    return compile_bundled(device.profile.neo_target, tmp_path_factory.getbasetemp() / "compiled")
