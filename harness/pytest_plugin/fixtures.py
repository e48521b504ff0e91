"""The plugin's fixtures: the session's lab, one reachable ``device`` per lab device, the bundled
model compiled for it, the test's ``hil_record``, and the measurement fixtures."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING

import pytest

from harness.bench.budgets import Override, parse_override
from harness.errors import HilError
from harness.pytest_plugin.markers import mismatch
from harness.pytest_plugin.options import lab_of
from harness.pytest_plugin.quarantine import check_selected, handed_to_workers, quarantine_reason
from harness.records import Record

if TYPE_CHECKING:  # the engine and SSH clients load only in sessions that use the lab
    from harness.artifact.package import Artifact
    from harness.bench.measure import BenchResult
    from harness.faults.session import FaultSet
    from harness.lab.bringup import LabController
    from harness.lab.device import Device

BENCH_RESULTS = pytest.StashKey[list["BenchResult"]]()


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
    if not handed_to_workers(request.config):
        check_selected(request.config, controller)
    yield controller


@pytest.fixture(scope="session")
def _device_handles(lab: LabController) -> Iterator[dict[str, Device]]:
    """The session's open device handles by name; their transports close when the session ends."""
    handles: dict[str, Device] = {}
    yield handles
    for device in handles.values():
        device.transport.close()


@pytest.fixture
def device(request: pytest.FixtureRequest, lab: LabController, _device_handles: dict[str, Device]) -> Device:
    """One lab device, reachable (its `uname -m` was read), matching the test's markers.

    A device quarantined by the lab health check skips the test with the check's reasons; one that does
    not answer errors this test with its reason, and the next test tries it again.
    """
    name: str = request.param
    quarantined = quarantine_reason(request.config, name)
    if quarantined:
        pytest.skip(quarantined)
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
        handle.transport.close()  # whatever it holds (a labgrid place) is not kept for a device that failed
        raise
    return handle


@pytest.fixture
def network_fault(lab: LabController) -> Iterator[FaultSet]:
    """Network faults on lab devices for this test: ``network_fault.add(device, "loss", "5%")``; every fault
    it added is removed at teardown (a session killed first leaves them to the sweep of `hil lab up`)."""
    from harness.faults.lab import target_for
    from harness.faults.session import FaultSet

    faults = FaultSet(lambda name: target_for(lab, name))
    try:
        yield faults
    finally:
        faults.clear()


@pytest.fixture
def compiled_model(device: Device, tmp_path_factory: pytest.TempPathFactory) -> Artifact:
    """The bundled model compiled for the device's Neo target (through the compile cache)."""
    from harness.compile.bundled import compile_bundled  # imports TVM: only for tests that compile

    return compile_bundled(device.profile.neo_target, tmp_path_factory.getbasetemp() / "compiled")


@pytest.fixture
def hil_record(request: pytest.FixtureRequest) -> Record:
    """The record of this test; filled with the device and scenario when the test uses ``device``."""
    record = Record(request.node.user_properties)
    if "device" in request.fixturenames:
        handle = request.getfixturevalue("device")
        record.device(handle.name, emulated=handle.emulated)
    module = request.node.module.__name__.rsplit(".", 1)[-1] if request.node.module else ""
    record.scenario(module.removeprefix("test_"))
    return record


@pytest.fixture
def budget_overrides(request: pytest.FixtureRequest) -> list[Override]:
    """The ``--budget`` overrides of this run (already validated at start-up)."""
    return [parse_override(text) for text in request.config.getoption("--budget")]


@pytest.fixture
def bench_record(request: pytest.FixtureRequest) -> Callable[[BenchResult], BenchResult]:
    """Hand a result to ``--bench-json``; returns it unchanged."""
    results = request.config.stash[BENCH_RESULTS]

    def record(result: BenchResult) -> BenchResult:
        results.append(result)
        return result

    return record
