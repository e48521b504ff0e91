"""The plugin's hooks: markers registered and checked at collection, ``device`` parametrized over the
selected lab devices, each phase report tagged with its device as plain facts, the report collector
and ``--bench-json`` wired in, SIGTERM handled as Ctrl-C for the session (harness.pytest_plugin.interrupt)."""

from __future__ import annotations

import os
import platform
from collections.abc import Generator
from pathlib import Path
from typing import Any

import pytest

from harness.pytest_plugin import interrupt, markers, quarantine
from harness.pytest_plugin.fixtures import BENCH_RESULTS
from harness.pytest_plugin.options import check_budgets, lab_of, selected_devices
from harness.pytest_plugin.quarantine import HEALTH
from harness.records import redact
from harness.report.collector import Collector
from harness.report.results_json import ITEM_KEY, RETRY_KEY
from harness.transport import retry


def pytest_configure(config: pytest.Config) -> None:
    markers.register(config)
    check_budgets(config)
    config.stash[BENCH_RESULTS] = []
    config.pluginmanager.register(Collector(config, lambda: lab_facts(config)), "hil-report-collector")
    interrupt.install(config)


def pytest_unconfigure(config: pytest.Config) -> None:
    interrupt.uninstall(config)


def lab_facts(config: pytest.Config) -> dict[str, Any]:
    """The lab and its selected devices as plain data for the reports (harness.report.collector.LabFacts)."""
    lab = lab_of(config)
    devices = []
    for spec in selected_devices(config):
        profile = lab.profile_of(spec)
        devices.append({
            "name": spec.name, "profile": profile.name, "arch": profile.arch, "emulated": spec.emulated,
            "connection": spec.connection or f"emulated core ({spec.transport})",
            "dlr_abi": spec.image.get("runtime", profile.runtime.dlr_abi),
            "qemu": spec.emulated and profile.arch != platform.machine()})
    facts: dict[str, Any] = {"lab": {"name": lab.spec.lab, "file": str(lab.source)}, "devices": devices}
    if HEALTH in config.stash:
        facts["lab_health"] = config.stash[HEALTH]
    return facts


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "device" in metafunc.fixturenames:
        names = [d.name for d in selected_devices(metafunc.config)]
        metafunc.parametrize("device", names, indirect=True, ids=names)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        markers.check(item)
        if "device" in getattr(item, "fixturenames", ()) or "lab" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.lab)


def device_param(item: pytest.Item) -> str | None:
    """The test's lab device, from its ``device`` parameter (None for tests without one)."""
    callspec = getattr(item, "callspec", None)
    name = callspec.params.get("device") if callspec is not None else None
    return name if isinstance(name, str) else None


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Generator[None, Any, None]:
    """The setup report carries the test's device, scenario and connection as plain facts (``hil_item``):
    an emulated core's address is known only once the lab started it. Any phase carries the transient
    faults retried since the previous one (harness.transport.retry)."""
    outcome = yield
    retried = retry.drain()  # this process's transient faults since the last phase
    if retried:
        outcome.get_result().user_properties.append((RETRY_KEY, [r.as_dict() for r in retried]))
    if call.when != "setup":
        return
    module = getattr(item, "module", None)
    handle = getattr(item, "funcargs", {}).get("device")  # the lab's Device once its fixture ran
    connection = getattr(handle, "connection", None)
    outcome.get_result().user_properties.append((ITEM_KEY, {
        "device": device_param(item),
        "scenario": module.__name__.rsplit(".", 1)[-1].removeprefix("test_") if module else None,
        "connection": redact(connection) if connection else None}))


def pytest_sessionfinish(session: pytest.Session) -> None:
    """``--fail-on-quarantine``; ``--bench-json``: the recorded measurements, one file per xdist worker."""
    quarantine.finish(session)
    path: Path | None = session.config.getoption("--bench-json")
    results = session.config.stash.get(BENCH_RESULTS, [])
    if path is None or not results:
        return
    worker = os.environ.get("PYTEST_XDIST_WORKER")
    if worker:
        path = path.with_name(f"{path.stem}.{worker}{path.suffix}")
    from harness.bench.pytest_benchmark_json import write

    write(path, results)
