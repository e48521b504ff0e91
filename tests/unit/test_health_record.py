"""Verdicts → device health → quarantine and the lab's exit status; the JSON shape and the console table."""

from __future__ import annotations

import json
from datetime import UTC, datetime

from harness.health.record import DeviceHealth, HealthVerdict, LabHealth
from harness.health.render import table, to_json

AT = datetime(2026, 12, 1, 20, 0, tzinfo=UTC)


def health(name: str, *verdicts: HealthVerdict) -> DeviceHealth:
    return DeviceHealth(name, verdicts, sum(v.duration_s for v in verdicts), AT)


GOOD = health("core-a", HealthVerdict("reachable", True, "answers commands", duration_s=0.01),
              HealthVerdict("clock", True, "device clock 0.001 s ahead", duration_s=0.02))
SKEWED = health("pi-07", HealthVerdict("reachable", True, "answers commands", duration_s=0.05),
                HealthVerdict("clock", False, "device clock 7.000 s behind", "synchronise the clock", 0.05),
                HealthVerdict("disk", False, "/tmp has 3 MiB free, below 512 MiB", "free space", 0.05))


def test_a_device_failing_any_check_is_quarantined_with_every_reason():
    assert GOOD.healthy and GOOD.quarantine is None
    quarantine = SKEWED.quarantine
    assert [v.name for v in quarantine.failed] == ["clock", "disk"]
    assert quarantine.reason == ("pi-07 quarantined by the lab health check: clock: device clock 7.000 s behind; "
                                 "disk: /tmp has 3 MiB free, below 512 MiB")
    assert quarantine.at == AT


def test_exit_status_is_zero_only_when_every_device_is_healthy():
    assert LabHealth((GOOD,), 0.1).exit_status == 0
    lab = LabHealth((GOOD, SKEWED), 0.2)
    assert lab.exit_status == 1 and list(lab.quarantined) == ["pi-07"]
    assert LabHealth((), 0.0).exit_status == 0


def test_json_document_shape():
    document = json.loads(to_json(LabHealth((GOOD, SKEWED), 0.2)))
    assert set(document) == {"healthy", "duration_s", "devices", "quarantined"}
    assert document["healthy"] is False
    assert [d["name"] for d in document["devices"]] == ["core-a", "pi-07"]
    assert set(document["devices"][1]) == {"name", "healthy", "duration_s", "checks"}
    assert set(document["devices"][1]["checks"][1]) == {"name", "ok", "detail", "advice", "duration_s"}
    assert document["devices"][1]["duration_s"] == round(SKEWED.duration_s, 3)
    assert document["quarantined"][0]["device"] == "pi-07"
    assert document["quarantined"][0]["at"] == "2026-12-01T20:00:00+00:00"
    assert [v["name"] for v in document["quarantined"][0]["failed"]] == ["clock", "disk"]


def test_table_shows_each_device_and_the_failed_checks_with_advice():
    text = table(LabHealth((GOOD, SKEWED), 0.2))
    lines = text.splitlines()
    assert lines[1].split()[:2] == ["core-a", "healthy"]
    assert lines[2].split()[:2] == ["pi-07", "QUARANTINED"]
    assert "FAIL clock: device clock 7.000 s behind" in text and "→ synchronise the clock" in text
    assert lines[-1].startswith("1 of 2 devices healthy, 1 quarantined")
