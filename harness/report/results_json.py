"""results.json: the run's outcomes, one record per device × scenario, as a versioned document.

A device × scenario cell gathers every test of that scenario module on that device; its status is the
worst of its tests (error > failed > passed > skipped) and its class the diagnosis' class, else the
first failing test's error class. Built from plain phase reports so it works the same under xdist.

``lab_health`` is the health check's document (``hil lab check --json``) when the run checked its devices;
a cell whose tests were skipped for their device's quarantine says why in ``quarantined``. ``retries``
holds, per device, every transient link fault that was retried (harness.transport.retry).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from harness.errors import FailureClass, HilError
from harness.primitives.atomic import write_atomically
from harness.records import KEY, device_of, redact, redact_argv
from harness.report.scrub import scrub_value

SCHEMA = "edge-hil/results"
SCHEMA_VERSION = 1
ITEM_KEY = "hil_item"      # {"device", "scenario", "connection"} of the test, set where the item is known
ERROR_KEY = "hil_error"    # {"class", "advice"} of the exception that failed the test
RETRY_KEY = "hil_retries"  # [{"device", "step", "cause", "delay_s", "attempt"}] retried transient faults
NO_DEVICE = "(host)"
STATUSES = ("error", "failed", "passed", "skipped")  # worst first
MESSAGE_LIMIT = 4000


class ReportError(HilError):
    """A results.json (a baseline, a previous run) is missing or not one of ours."""

    failure_class = FailureClass.ARTIFACT


def _where(nodeid: str, item: Mapping[str, Any] | None, devices: list[str]) -> tuple[str, str]:
    """Device and scenario: from the item when known, else from the node id and the lab's device names."""
    if item and item.get("scenario"):
        return item.get("device") or NO_DEVICE, item["scenario"]
    module = nodeid.split("::", 1)[0].rsplit("/", 1)[-1].removesuffix(".py")
    return device_of(nodeid, devices) or NO_DEVICE, module.removeprefix("test_")


def _test_outcomes(phases: Iterable[Mapping[str, Any]]) -> dict[str, dict[str, Any]]:
    """Fold setup/call/teardown phase reports into one outcome per test node id."""
    tests: dict[str, dict[str, Any]] = {}
    for ph in phases:
        t = tests.setdefault(ph["nodeid"], {"nodeid": ph["nodeid"], "status": None, "class": None,
                                            "message": None, "duration_s": 0.0, "records": [], "item": None})
        t["duration_s"] += float(ph.get("duration") or 0.0)
        records = [value for key, value in ph.get("user_properties") or () if key == KEY and isinstance(value, Mapping)]
        if records:  # each phase carries the records as they were then: the last phase's are complete
            t["records"] = records
        for key, value in ph.get("user_properties") or ():
            if key == ITEM_KEY and isinstance(value, Mapping):
                t["item"] = value
            elif key == ERROR_KEY and isinstance(value, Mapping) and not t["class"]:
                t["class"], t["advice"] = value.get("class"), value.get("advice")
        outcome, when = ph["outcome"], ph.get("when", "call")
        if outcome == "passed" and when != "call":
            continue  # a passing setup/teardown says nothing about the test
        status = ("failed" if when == "call" else "error") if outcome == "failed" else outcome
        if ph.get("wasxfail") is not None:
            status = "skipped"
        if t["status"] is None or STATUSES.index(status) < STATUSES.index(t["status"]):
            t["status"] = status
            if status != "passed":
                t["message"] = redact(str(ph.get("longrepr") or ""))[-MESSAGE_LIMIT:] or None
    for t in tests.values():
        t["status"] = t["status"] or "passed"
        if t["status"] in ("failed", "error") and not t["class"]:
            t["class"] = FailureClass.UNCLASSIFIED
    return tests


def _merge(cell: dict[str, Any], record: Mapping[str, Any], nodeid: str) -> None:
    for key in ("stats", "budgets"):
        cell[key].update(record.get(key) or {})
    cell["facts"].update(scrub_value(dict(record.get("facts") or {})))
    cell["logs"].update({name: redact(str(text)) for name, text in (record.get("logs") or {}).items()})
    if record.get("diagnosis"):  # every test's own diagnosis: a scenario may reproduce several failures
        cell["diagnoses"].append({**scrub_value(dict(record["diagnosis"])), "test": nodeid})
    if record.get("emulated") is not None:
        cell["emulated"] = record["emulated"]


def build_results(phases: Iterable[Mapping[str, Any]], environment: Mapping[str, Any], *,
                  run_id: str | None = None) -> dict[str, Any]:
    """The results document from phase reports (``nodeid, when, outcome, longrepr, duration, user_properties``);
    a test without device facts takes its device from its id and ``environment["devices"]``."""
    cells: dict[tuple[str, str], dict[str, Any]] = {}
    devices = [d["name"] for d in environment.get("devices") or () if isinstance(d, Mapping) and d.get("name")]
    phases_seen = list(phases)
    for t in _test_outcomes(phases_seen).values():
        rec = next((r for r in t["records"] if r.get("scenario")), None)
        device, scenario = _where(t["nodeid"], t["item"] or rec, devices)
        if rec and rec.get("device"):
            device = rec["device"]
        cell = cells.setdefault((device, scenario), {
            "device": device, "scenario": scenario, "status": None, "class": None, "emulated": None,
            "tests": [], "stats": {}, "budgets": {}, "diagnoses": [], "logs": {}, "facts": {}})
        cell["tests"].append({k: t.get(k) for k in ("nodeid", "status", "class", "message", "duration_s")})
        for record in t["records"]:
            _merge(cell, record, t["nodeid"])
        if cell["status"] is None or STATUSES.index(t["status"]) < STATUSES.index(cell["status"]):
            cell["status"] = t["status"]
        if t["class"] and not cell["class"]:
            cell["class"] = t["class"]
    for cell in cells.values():
        failing = {t["nodeid"] for t in cell["tests"] if t["status"] in ("failed", "error")}
        named = [d["class"] for d in cell["diagnoses"] if d["test"] in failing and d.get("class")]
        if named:
            cell["class"] = named[0]
    records = sorted(cells.values(), key=lambda c: (c["device"], c["scenario"]))
    retries: dict[str, list[dict[str, Any]]] = {}
    for ph in phases_seen:
        for key, value in ph.get("user_properties") or ():
            if key == RETRY_KEY and isinstance(value, list):
                for one in value:
                    retries.setdefault(str(one.get("device")), []).append(
                        {**scrub_value(dict(one)), "test": ph["nodeid"], "when": ph.get("when")})
    env = dict(environment)
    health = env.pop("lab_health", None)  # the lab's facts carry it; it is a section of its own
    quarantined = {q["device"]: q["reason"] for q in (health or {}).get("quarantined") or ()}
    for cell in records:  # a device of the lab whose tests ran anyway (no `device` fixture) is not marked
        reason = quarantined.get(cell["device"])
        skipped = any(t["status"] == "skipped" and reason and reason in (t["message"] or "") for t in cell["tests"])
        cell["quarantined"] = reason if skipped else None
    return {"schema": SCHEMA, "schema_version": SCHEMA_VERSION, "run_id": run_id,
            "environment": redact_command_lines(env),
            "lab_health": scrub_value(health) if health else None, "retries": retries,
            "summary": summarize(records), "records": records}
def redact_command_lines(environment: Mapping[str, Any]) -> dict[str, Any]:
    """``environment`` with its command lines (pytest's argv, the rerun line) redacted like any log."""
    env = dict(environment)
    if isinstance(env.get("argv"), list | tuple):
        env["argv"] = redact_argv(str(a) for a in env["argv"])
    if isinstance(env.get("rerun"), str):
        env["rerun"] = redact(env["rerun"])
    return env


def write_results(path: Path, results: Mapping[str, Any]) -> None:
    """Write ``results`` so that ``path`` is always a whole document: the old one or the new one.

    A temporary file beside it, fsynced, renamed over it, the directory fsynced: an interrupt or a full
    disk mid-write leaves the previous results.json (or none), never a truncated one.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    data = (json.dumps(results, indent=1, default=str) + "\n").encode("utf-8")
    write_atomically(path, data)


def summarize(records: list[Mapping[str, Any]]) -> dict[str, int]:
    """Test counts by status and the number of devices."""
    counts = {s: 0 for s in ("passed", "failed", "error", "skipped")}
    for rec in records:
        for t in rec["tests"]:
            counts[t["status"]] += 1
    counts["devices"] = len({r["device"] for r in records if r["device"] != NO_DEVICE})
    return counts


def summary_line(summary: Mapping[str, int]) -> str:
    """``14 passed, 1 failed, 2 skipped on 2 devices`` (zero counts left out, except passed)."""
    parts = [f"{summary['passed']} passed"] + [f"{summary[s]} {s if s != 'error' else 'errors'}"
                                               for s in ("failed", "error", "skipped") if summary.get(s)]
    n = summary.get("devices", 0)
    return f"{', '.join(parts)} on {n} device{'s' if n != 1 else ''}"


def load_results(path: Path | str) -> dict[str, Any]:
    """A results.json written by `hil run`, checked enough that a comparison cannot crash on it."""
    path = Path(path)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ReportError(f"{path}: no such results file", step="load results",
                          advice="pass reports/<run-id>/results.json of an earlier `hil run`") from None
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise ReportError(f"{path}: not readable JSON ({exc.__class__.__name__}: {exc})",
                          step="load results") from None
    if not isinstance(data, dict) or data.get("schema") != SCHEMA:
        raise ReportError(f"{path}: not an edge-hil results file (no schema {SCHEMA!r})", step="load results")
    if data.get("schema_version") != SCHEMA_VERSION:
        raise ReportError(f"{path}: results schema version {data.get('schema_version')!r}, this harness reads "
                          f"{SCHEMA_VERSION}", step="load results", advice="compare runs of the same harness version")
    records = data.get("records")
    if not isinstance(records, list) or not all(
            isinstance(r, dict) and isinstance(r.get("device"), str) and isinstance(r.get("scenario"), str)
            and r.get("status") in STATUSES and isinstance(r.get("stats", {}), dict) for r in records):
        raise ReportError(f"{path}: records are not device × scenario entries with a status", step="load results")
    return data
