"""The pytest side of the reports, loaded by `hil run` with ``-p harness.report.plugin``.

Where the item is known (the worker, under xdist) it tags each report with the test's device and
scenario and the failing exception's class; on the controller it scrubs secrets from failure text and
captured output before junit/pytest-html see them, keeps the records, and writes results.json.
"""

from __future__ import annotations

import json
import platform
import sys
from collections.abc import Generator
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

import pytest

import harness
from harness.report.results import ERROR_KEY, ITEM_KEY, build_results
from harness.results import KEY, redact


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("hil-report", "edge-hil reports")
    group.addoption("--hil-results", type=Path, default=None, metavar="FILE",
                    help="write the run's results.json (one record per device × scenario) here")


def pytest_configure(config: pytest.Config) -> None:
    config.pluginmanager.register(Collector(config), "hil-report-collector")


def _class_of(exc: BaseException) -> str:
    cls = getattr(exc, "failure_class", None)
    if cls:
        return str(cls)
    return "assertion" if isinstance(exc, AssertionError) else f"unexpected {type(exc).__name__}"


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

    def __init__(self, config: pytest.Config) -> None:
        self.config = config
        self.phases: list[dict[str, Any]] = []

    @pytest.hookimpl(hookwrapper=True)
    def pytest_runtest_makereport(self, item: pytest.Item,
                                  call: pytest.CallInfo[None]) -> Generator[None, Any, None]:
        outcome = yield
        report: pytest.TestReport = outcome.get_result()
        if call.when == "setup":
            callspec = getattr(item, "callspec", None)
            device = callspec.params.get("device") if callspec is not None else None
            module = getattr(item, "module", None)
            scenario = module.__name__.rsplit(".", 1)[-1].removeprefix("test_") if module else None
            handle = getattr(item, "funcargs", {}).get("device")  # the lab's Device once its fixture ran
            connection = getattr(handle, "connection", None)
            report.user_properties.append((ITEM_KEY, {"device": device if isinstance(device, str) else None,
                                                      "scenario": scenario,
                                                      "connection": redact(connection) if connection else None}))
        if call.excinfo is not None and report.failed:
            exc = call.excinfo.value
            advice = getattr(exc, "advice", None)
            advice = redact(advice) if isinstance(advice, str) else None
            error = (ERROR_KEY, {"class": _class_of(exc), "advice": advice})
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
        env = environment(self.config)
        seen = {v["device"]: v["connection"] for ph in self.phases for k, v in ph["user_properties"]
                if k == ITEM_KEY and isinstance(v, dict) and v.get("connection")}
        for device in env["devices"]:  # an emulated core's address is known once the lab started it
            device["connection"] = seen.get(device["name"], device["connection"])
        results = build_results(self.phases, env)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(json.dumps(results, indent=1, default=str) + "\n", encoding="utf-8")


def _version(dist: str) -> str | None:
    try:
        return version(dist)
    except PackageNotFoundError:
        return None


def environment(config: pytest.Config) -> dict[str, Any]:
    """Versions, the lab file and its devices (connection, DLR ABI, emulated): what a reader needs to trust figures."""
    env: dict[str, Any] = {
        "harness": harness.__version__, "python": platform.python_version(), "host": platform.node(),
        "host_machine": platform.machine(), "pytest": pytest.__version__, "tvm": _version("apache-tvm"),
        "onnxruntime": _version("onnxruntime"), "dlr": _version("dlr"), "argv": sys.argv[1:],
        "workers": getattr(config.option, "numprocesses", None), "lab": None, "devices": []}
    try:
        from harness.pytest_plugin import lab_of, selected_devices

        lab = lab_of(config)
        env["lab"] = {"name": lab.spec.lab, "file": str(lab.source)}
        for spec in selected_devices(config):
            profile = lab.profile_of(spec)
            emulated_arch = spec.emulated and profile.arch != platform.machine()
            env["devices"].append({
                "name": spec.name, "profile": profile.name, "arch": profile.arch, "emulated": spec.emulated,
                "connection": spec.connection or f"emulated core ({spec.transport})",
                "dlr_abi": spec.image.get("runtime", profile.runtime.dlr_abi),
                "qemu": emulated_arch})
    except Exception as exc:  # noqa: BLE001 - the report still gets written, saying why the lab is unknown
        env["lab_error"] = redact(f"{type(exc).__name__}: {exc}")
    return env
