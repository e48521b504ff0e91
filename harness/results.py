"""What a scenario test leaves for the reports: one record per device × scenario.

A test adds facts through the ``hil_record`` fixture; they travel on the pytest item's
``user_properties`` (so they survive pytest-xdist) as one ``("hil", {...})`` entry. The report room
turns the test's outcome plus that entry into a line of results.json and a cell of the HTML matrix.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pytest

KEY = "hil"
SECRET_MARKERS = ("PRIVATE KEY", "BEGIN CERTIFICATE", "password", "aws_secret_access_key")


def redact(text: str) -> str:
    """Drop lines that carry key or certificate material or a password: reports never show secrets."""
    return "\n".join(line if not any(m.lower() in line.lower() for m in SECRET_MARKERS) else "[redacted]"
                     for line in text.splitlines())


class Record:
    """The facts of one device × scenario; every field is JSON-serialisable."""

    def __init__(self, item: pytest.Item) -> None:
        self._item = item
        self.data: dict[str, Any] = {"device": None, "scenario": None, "emulated": None, "stats": {},
                                     "budgets": {}, "diagnosis": None, "logs": {}, "facts": {}}
        item.user_properties.append((KEY, self.data))

    def device(self, name: str, *, emulated: bool) -> None:
        self.data["device"], self.data["emulated"] = name, emulated

    def scenario(self, name: str) -> None:
        self.data["scenario"] = name

    def stats(self, runtime: str, figures: Mapping[str, Any]) -> None:
        """Latency/memory figures of one runtime (count, p50, p90, p99, peak_rss_mb, samples ...)."""
        self.data["stats"][runtime] = dict(figures)

    def budgets(self, budgets: Mapping[str, float]) -> None:
        self.data["budgets"] = dict(budgets)

    def diagnosis(self, diagnosis: Mapping[str, Any]) -> None:
        """``{class, summary, evidence, advice}`` from harness.diagnose."""
        self.data["diagnosis"] = dict(diagnosis)

    def log(self, name: str, text: str) -> None:
        """A device log (greengrass.log, a component log); redacted, the last 64 KiB kept."""
        self.data["logs"][name] = redact(text[-65536:])

    def fact(self, name: str, value: Any) -> None:
        self.data["facts"][name] = value


def records_of(user_properties: list[tuple[str, Any]]) -> list[dict[str, Any]]:
    """The record dicts among a test report's user_properties."""
    return [value for key, value in user_properties if key == KEY]


@pytest.fixture
def hil_record(request: pytest.FixtureRequest) -> Record:
    """The record of this test; filled with the device and scenario when the test uses ``device``."""
    record = Record(request.node)
    if "device" in request.fixturenames:
        device = request.getfixturevalue("device")
        record.device(device.name, emulated=device.emulated)
    module = request.node.module.__name__.rsplit(".", 1)[-1] if request.node.module else ""
    record.scenario(module.removeprefix("test_"))
    return record
