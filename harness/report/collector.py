"""The pytest side of the reports: a plugin object the hil pytest plugin registers (harness.pytest_plugin).

It sees only plain data: the phase reports, the ``hil_item`` facts the pytest plugin attaches to them
(device name, scenario, connection string), and the lab's facts as a dict. Where the item is known
(the worker, under xdist) it tags each failing report with the exception's failure class; on the
controller it scrubs secrets from failure text and captured output before junit/pytest-html see them,
keeps the phases, and writes results.json.
"""

from __future__ import annotations

import platform
import sys
from collections.abc import Callable, Generator, Mapping
from importlib.metadata import PackageNotFoundError, version
from typing import Any

import pytest

import harness
from harness.errors import FailureClass
from harness.records import KEY, redact
from harness.report.results_json import ERROR_KEY, ITEM_KEY, build_results, write_results

#: The lab's facts: ``{"lab": {name, file}, "devices": [{name, profile, arch, connection, ...}]}``, or
#: ``{"lab_error": text}`` when the lab file could not be read.
LabFacts = Callable[[], Mapping[str, Any]]


def class_of(exc: BaseException) -> str:
    """The failure class a report shows for an exception: a typed error's own, else what Python raised."""
    cls = getattr(exc, "failure_class", None)
    if cls:
        return str(cls)
    if isinstance(exc, AssertionError):
        return FailureClass.ASSERTION
    return f"{FailureClass.UNEXPECTED} {type(exc).__name__}"


def _longrepr_text(report: pytest.TestReport) -> str | None:
    if report.skipped and isinstance(report.longrepr, tuple):
        return str(report.longrepr[2])  # (path, lineno, reason)
    return redact(str(report.longrepr)) if report.longrepr is not None else None


def _compact(user_properties: list[tuple[str, Any]]) -> list[tuple[str, Any]]:
    """junit.xml's properties: device, scenario and class instead of whole records (logs stay out of it)."""
    out: list[tuple[str, Any]] = []
    classes: list[str] = []
    for key, value in user_properties:
        if key == KEY and isinstance(value, dict):
            out += [("hil.device", value.get("device")), ("hil.scenario", value.get("scenario"))]
            if (value.get("diagnosis") or {}).get("class"):
                classes.insert(0, value["diagnosis"]["class"])  # the diagnosis names the failure best
        elif key == ERROR_KEY and isinstance(value, dict):
            classes.append(value.get("class"))
        elif key != ITEM_KEY:
            out.append((key, value))
    return out + [("hil.class", classes[0])] if classes else out


class Collector:
    """Keeps every phase report of the session (on the controller) and writes results.json at the end."""

    def __init__(self, config: pytest.Config, lab_facts: LabFacts) -> None:
        self.config = config
        self.lab_facts = lab_facts
        self.phases: list[dict[str, Any]] = []

    @pytest.hookimpl(hookwrapper=True)
    def pytest_runtest_makereport(self, item: pytest.Item,
                                  call: pytest.CallInfo[None]) -> Generator[None, Any, None]:
        outcome = yield
        report: pytest.TestReport = outcome.get_result()
        if call.excinfo is not None and report.failed:
            exc = call.excinfo.value
            advice = getattr(exc, "advice", None)
            advice = redact(advice) if isinstance(advice, str) else None
            error = (ERROR_KEY, {"class": class_of(exc), "advice": advice})
            report.user_properties.append(error)
            item.user_properties.append(error)  # the teardown report, whose properties junit.xml keeps, has it too

    @pytest.hookimpl(tryfirst=True)
    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        """Scrub before junitxml/pytest-html/the terminal see the report, then keep the phase."""
        if report.failed and report.longrepr is not None:
            text = str(report.longrepr)
            if redact(text) != text:
                report.longrepr = redact(text)
        report.sections = [(title, redact(content)) for title, content in report.sections]
        if hasattr(self.config, "workerinput"):
            return
        self.phases.append({
            "nodeid": report.nodeid, "when": report.when, "outcome": report.outcome,
            "longrepr": _longrepr_text(report), "duration": report.duration,
            "wasxfail": getattr(report, "wasxfail", None), "user_properties": list(report.user_properties)})
        report.user_properties = _compact(report.user_properties)

    def pytest_sessionfinish(self, session: pytest.Session) -> None:
        target = self.config.getoption("--hil-results")
        if target is None or hasattr(self.config, "workerinput"):
            return
        env = environment(self.config, self.lab_facts)
        seen = {v["device"]: v["connection"] for ph in self.phases for k, v in ph["user_properties"]
                if k == ITEM_KEY and isinstance(v, dict) and v.get("connection")}
        for device in env["devices"]:  # an emulated core's address is known once the lab started it
            device["connection"] = seen.get(device["name"], device["connection"])
        results = build_results(self.phases, env)
        write_results(target, results)


def _version(dist: str) -> str | None:
    try:
        return version(dist)
    except PackageNotFoundError:
        return None


def environment(config: pytest.Config, lab_facts: LabFacts) -> dict[str, Any]:
    """Versions, the lab file and its devices (connection, DLR ABI, emulated): what a reader needs to trust figures."""
    env: dict[str, Any] = {
        "harness": harness.__version__, "python": platform.python_version(), "host": platform.node(),
        "host_machine": platform.machine(), "pytest": pytest.__version__, "tvm": _version("apache-tvm"),
        "onnxruntime": _version("onnxruntime"), "dlr": _version("dlr"), "argv": sys.argv[1:],
        "workers": getattr(config.option, "numprocesses", None), "lab": None, "devices": []}
    try:
        facts = dict(lab_facts())
    except Exception as exc:  # noqa: BLE001 - the report still gets written, saying why the lab is unknown
        facts = {"lab_error": f"{type(exc).__name__}: {exc}"}
    if "lab_error" in facts:
        facts["lab_error"] = redact(str(facts["lab_error"]))
    env.update(facts)
    return env
