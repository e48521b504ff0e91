"""`hil report merge RUNDIR... -o OUT`: the run directories of shard jobs as one report.

Each shard job (`hil run --shard K/N`) wrote its own results.json and junit.xml; the merged report has one
device × scenario matrix over all of them. Inputs must be disjoint slices of one run: a device present in
two inputs (the same board measured twice, or two shards with different N) and inputs of different
harness, compiler, runtime or model versions are refused, since their figures cannot share a table.
Host-side tests run in every shard; the first input's outcome of each is kept.
"""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from harness.report.render import render_index
from harness.report.results_json import NO_DEVICE, ReportError, load_results, summarize

#: Environment entries that must agree: figures from different builds of the loop are not one matrix.
VERSION_KEYS = ("harness", "tvm", "dlr", "onnxruntime")
#: `hil run` options that choose what is compiled and measured.
MODEL_FLAGS = ("--model", "--input-config")


def versions(results: Mapping[str, Any]) -> dict[str, Any]:
    """What a run measured with: the versions of VERSION_KEYS and the model options from its pytest argv."""
    env = results.get("environment") or {}
    found: dict[str, Any] = {key: env.get(key) for key in VERSION_KEYS}
    argv = [str(a) for a in env.get("argv") or ()]
    for flag in MODEL_FLAGS:
        found[flag.lstrip("-")] = next((a.split("=", 1)[1] for a in argv if a.startswith(flag + "=")), None)
    found["model"] = found["model"] or "(bundled)"
    return found


def _devices(results: Mapping[str, Any]) -> set[str]:
    return {r["device"] for r in results["records"] if r["device"] != NO_DEVICE}


def check_mergeable(inputs: Sequence[tuple[str, Mapping[str, Any]]]) -> None:
    """Refuse overlapping devices and differing versions, naming the inputs and the difference."""
    owner: dict[str, str] = {}
    for name, results in inputs:
        for device in sorted(_devices(results)):
            if device in owner:
                raise ReportError(f"device {device!r} appears in both {owner[device]} and {name}: shards must be "
                                  "disjoint", step="merge reports",
                                  advice="merge the run directories of one `hil run --shard K/N` matrix (same N)")
            owner[device] = name
    first_name, first = inputs[0][0], versions(inputs[0][1])
    for name, results in inputs[1:]:
        other = versions(results)
        diff = [f"{key} {first[key]!r} vs {other[key]!r}" for key in first if first[key] != other[key]]
        if diff:
            raise ReportError(f"{first_name} and {name} were run with different versions: {'; '.join(diff)}",
                              step="merge reports", advice="merge shards of one run, made by the same harness "
                                                           "and model")


def merge_results(inputs: Sequence[tuple[str, Mapping[str, Any]]]) -> dict[str, Any]:
    """One results document from shard results (``(label, results)`` pairs, in the order given)."""
    if not inputs:
        raise ReportError("nothing to merge", step="merge reports")
    check_mergeable(inputs)
    cells: dict[tuple[str, str], dict[str, Any]] = {}
    devices: list[dict[str, Any]] = []
    for _, results in inputs:
        for record in results["records"]:
            cells.setdefault((record["device"], record["scenario"]), record)  # host cells: the first input's
        mine = _devices(results)
        devices += [d for d in results["environment"].get("devices") or () if d.get("name") in mine]
    records = sorted(cells.values(), key=lambda c: (c["device"], c["scenario"]))
    first = inputs[0][1]
    env = {**first["environment"], "devices": sorted(devices, key=lambda d: d["name"]),
           "merged_from": [{"run_id": r.get("run_id"), "path": label, "shard": r["environment"].get("shard"),
                            "host": r["environment"].get("host")} for label, r in inputs]}
    env.pop("shard", None)
    return {"schema": first["schema"], "schema_version": first["schema_version"],
            "run_id": "merged-" + "+".join(str(r.get("run_id")) for _, r in inputs),
            "environment": env, "summary": summarize(records), "records": records}


def merge_junit(paths: Sequence[Path]) -> ET.ElementTree:
    """One <testsuite> with every input's test cases (a case id seen twice, i.e. a host test, kept once)."""
    suite = ET.Element("testsuite", name="pytest")
    seen: set[tuple[str | None, str | None]] = set()
    counts = {"tests": 0, "failures": 0, "errors": 0, "skipped": 0}
    elapsed = 0.0
    for path in paths:
        try:
            root = ET.parse(path).getroot()
        except (OSError, ET.ParseError) as exc:
            raise ReportError(f"{path}: not a readable junit.xml ({exc})", step="merge reports") from None
        for case in root.iter("testcase"):
            key = (case.get("classname"), case.get("name"))
            if key in seen:
                continue
            seen.add(key)
            suite.append(case)
            counts["tests"] += 1
            for tag, counter in (("failure", "failures"), ("error", "errors"), ("skipped", "skipped")):
                if case.find(tag) is not None:
                    counts[counter] += 1
            elapsed += float(case.get("time") or 0.0)
    for key, value in counts.items():
        suite.set(key, str(value))
    suite.set("time", f"{elapsed:.3f}")
    top = ET.Element("testsuites")
    top.append(suite)
    return ET.ElementTree(top)


def merge_run_dirs(run_dirs: Sequence[Path], out: Path) -> dict[str, Any]:
    """Write OUT/results.json, OUT/junit.xml and OUT/index.html from the run directories; return the results."""
    inputs = [(str(d), load_results(d / "results.json")) for d in run_dirs]
    merged = merge_results(inputs)
    junit = merge_junit([d / "junit.xml" for d in run_dirs])
    out.mkdir(parents=True, exist_ok=True)
    (out / "results.json").write_text(json.dumps(merged, indent=1, default=str) + "\n", encoding="utf-8")
    junit.write(out / "junit.xml", encoding="utf-8", xml_declaration=True)
    render_index(merged, out / "index.html", links={"results.json": "results.json", "junit.xml": "junit.xml"})
    return merged
