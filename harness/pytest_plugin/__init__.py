"""The hil pytest plugin: the whole pytest surface of the harness, in one package.

Loaded one way: through the ``pytest11`` entry point ``hil = "harness.pytest_plugin"`` of an installed
harness (the repository's root conftest.py loads it from a bare checkout). This module is the plugin;
it gathers the parts:

options     --lab, --device, --arch, --no-lab-up, --budget, --bench-json, --hil-results; the run's lab
markers     arch / profile / feature: checked at collection (a malformed one is a usage error naming
            the test), applied when ``device`` is set up (a mismatch is a skip with the reason)
fixtures    lab, device (one per selected lab device, ids = device names), compiled_model, hil_record,
            network_fault (harness.faults),
            budget_overrides, bench_record; greengrass, gg_name, gg_run_id from harness.greengrass.steps
hooks       parametrization over the lab, the ``lab`` marker, per-test device facts for the reports,
            the report collector (harness.report.collector) and --bench-json
scheduler   ``-n N --dist loadgroup``: one xdist work unit per device
quarantine  the lab health check before the first device test (--no-health-check, --fail-on-quarantine,
            --max-clock-skew, --min-free-mib, --health-budget): a sick device's tests skip with its reasons
interrupt   SIGTERM ends the session like Ctrl-C: fixtures torn down (labgrid places released), reports written

A device that fails its health check is quarantined; one that stops answering later errors its own tests
with the device's reason; the rest of the session goes on.
Importing the plugin switches DLR's phone-home off (harness.privacy): entry-point plugins load before any
conftest.py or test module could import dlr.
"""

from harness.greengrass.steps import gg_name, gg_run_id, greengrass
from harness.privacy import phone_home_off
from harness.pytest_plugin.fixtures import (
    _device_handles,
    bench_record,
    budget_overrides,
    compiled_model,
    device,
    hil_record,
    lab,
    network_fault,
)
from harness.pytest_plugin.hooks import (
    pytest_collection_modifyitems,
    pytest_configure,
    pytest_generate_tests,
    pytest_runtest_makereport,
    pytest_sessionfinish,
    pytest_unconfigure,
)
from harness.pytest_plugin.options import lab_of, pytest_addoption, selected_devices
from harness.pytest_plugin.quarantine import pytest_configure_node, pytest_sessionstart
from harness.pytest_plugin.scheduler import pytest_xdist_make_scheduler

phone_home_off()

__all__ = [
    "_device_handles", "bench_record", "budget_overrides", "compiled_model", "device", "gg_name", "gg_run_id",
    "greengrass", "hil_record", "lab", "lab_of", "network_fault", "pytest_addoption", "pytest_collection_modifyitems",
    "pytest_configure", "pytest_configure_node", "pytest_generate_tests", "pytest_runtest_makereport",
    "pytest_sessionfinish", "pytest_sessionstart", "pytest_unconfigure", "pytest_xdist_make_scheduler",
    "selected_devices",
]
