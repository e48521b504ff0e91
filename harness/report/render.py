"""index.html: one self-contained page (inline CSS, PNG data URLs) from a results document.

Ordered for the nightly reader: the verdict line, regressions against the baseline, the device × scenario
matrix, latency and memory per device and model (with the runtime comparison and the p50/p90 trend), then
unexpected failures with their diagnoses; field-failure reproductions that behaved as expected are folded
away, and logs, facts, environment and the rerun command come last.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, select_autoescape

from harness.report import plots
from harness.report.compare import latency
from harness.report.results_json import NO_DEVICE, summary_line
from harness.report.trend import trend_of
from harness.resources import report_templates_dir

QEMU_NOTE = ("qemu figures are not device figures: an emulated core of a foreign architecture runs under "
             "qemu-user (10-30x slower), and no emulated core has a board's CPU, memory bus or thermals")
TABLE_KEYS = ("count", "p50", "p90", "p99", "peak_rss_mb", "load_s")
#: The runtimes DLR is compared with, as the bench names them, and how a reader knows them.
COMPARED = {"onnxruntime": "ONNX Runtime", "litert": "LiteRT"}
FAILING = ("failed", "error")


def _figure(stats: Mapping[str, Any], key: str) -> float | None:
    if key in ("p50", "p90", "p99"):
        return latency(stats, key)
    value = stats.get(key)
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


def _model_of(rec: Mapping[str, Any], stats: Mapping[str, Any]) -> str:
    """The model a runtime's figures are for: named by the bench or the record, else the scenario."""
    named = stats.get("model") or (rec.get("facts") or {}).get("model")
    return str(named) if isinstance(named, str) and named else str(rec["scenario"])


def _schedules_of(rec: Mapping[str, Any]) -> str | None:
    """Whether the DLR artifact was tuned (harness.artifact.meta.schedules_of, recorded by the latency test)."""
    value = (rec.get("facts") or {}).get("schedules")
    return value if isinstance(value, str) and value else None


def comparisons(rows: Sequence[Mapping[str, Any]]) -> list[str]:
    """"DLR p50 is 0.42× ONNX Runtime's" for each model measured with DLR and a compared runtime."""
    out = []
    for model in dict.fromkeys(row["model"] for row in rows):
        p50 = {row["runtime"]: row["p50"] for row in rows if row["model"] == model and row["p50"]}
        for runtime, name in COMPARED.items():
            if "dlr" in p50 and runtime in p50:
                out.append(f"DLR p50 is {p50['dlr'] / p50[runtime]:.2f}× {name}'s"
                           + (f" ({model})" if len({r['model'] for r in rows}) > 1 else ""))
    return out


def _device_view(device: str, records: Sequence[Mapping[str, Any]], trend: Mapping[Any, Any]) -> dict[str, Any]:
    """The device's figures: one row per model and runtime, latency/memory plots, the trend."""
    measured = [(rec, runtime, stats) for rec in records for runtime, stats in (rec.get("stats") or {}).items()
                if isinstance(stats, Mapping)]
    budget = next((r["budgets"]["peak_rss_mb"] for r in records
                   if isinstance((r.get("budgets") or {}).get("peak_rss_mb"), int | float)), None)
    rows = [{"model": _model_of(rec, stats), "runtime": runtime, **{k: _figure(stats, k) for k in TABLE_KEYS},
             "not_measured": str(stats["not_measured"]) if stats.get("not_measured") else None,
             "schedules": _schedules_of(rec) if runtime == "dlr" else None,
             "threads": stats["threads"] if isinstance(stats.get("threads"), int) else None}
            for rec, runtime, stats in measured]
    several = len({row["model"] for row in rows}) > 1
    samples, rss = {}, {}
    for row, (_, runtime, stats) in zip(rows, measured, strict=True):
        label = f"{row['model']}: {runtime}" if several else runtime
        samples[label] = plots.samples_of(stats)
        if row["peak_rss_mb"] is not None:
            rss[label] = row["peak_rss_mb"]
    return {"name": device, "rows": rows, "comparisons": comparisons(rows), "budget_mb": budget,
            "latency_png": plots.latency_plot(device, samples), "memory_png": plots.memory_plot(device, rss, budget),
            "trend_png": plots.trend_plot(device, trend.get(device, {}))}


def _test_of(diagnosis: Mapping[str, Any], tests: Sequence[Mapping[str, Any]]) -> Mapping[str, Any] | None:
    """The test a diagnosis was recorded by: its node id, or a path suffix of it."""
    named = str(diagnosis.get("test") or "")
    return next((t for t in tests if named and (t["nodeid"] == named or t["nodeid"].endswith("/" + named))), None)


def split_diagnoses(records: Sequence[Mapping[str, Any]]) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """(unexpected failures, expected reproductions).

    An unexpected failure is a failed or errored test, with the diagnoses recorded for it (a diagnosis
    naming no test of its record goes with the record's first failure); a diagnosis of a test that
    passed is a field failure the scenario set up on purpose and recognised.
    """
    unexpected, expected = [], []
    for rec in records:
        failures = [{"record": rec, "test": t, "diagnoses": []} for t in rec["tests"] if t["status"] in FAILING]
        for diagnosis in rec.get("diagnoses") or ():
            test = _test_of(diagnosis, rec["tests"])
            own = next((f for f in failures if f["test"] is test), None) if test else (failures or [None])[0]
            if own is not None:
                own["diagnoses"].append(diagnosis)
            elif test is not None or not failures:
                expected.append({"record": rec, "diagnosis": diagnosis})
        unexpected.extend(failures)
    return unexpected, expected


def verdict(results: Mapping[str, Any], unexpected: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """The first line: PASS or FAIL, and why, in one sentence."""
    comparison = results.get("comparison") or {}
    regressions, new_failures = comparison.get("regressions") or [], comparison.get("new_failures") or []
    failing = sorted({f"{u['record']['device']}/{u['record']['scenario']}" for u in unexpected})
    reasons = []
    if failing:
        reasons.append(f"{len(unexpected)} unexpected failure{'s' if len(unexpected) != 1 else ''} "
                       f"({', '.join(failing[:4])}{', …' if len(failing) > 4 else ''})")
    if regressions:
        reasons.append(f"{len(regressions)} latency regression{'s' if len(regressions) != 1 else ''}")
    if new_failures:
        reasons.append(f"{len(new_failures)} new failure{'s' if len(new_failures) != 1 else ''} against the baseline")
    ok = not reasons and not results["summary"].get("failed") and not results["summary"].get("error")
    if ok:
        reasons.append("no unexpected failures" + (", no regressions against the baseline" if comparison else ""))
    return {"ok": ok, "word": "PASS" if ok else "FAIL", "why": "; ".join(reasons)}


def lab_health_rows(results: Mapping[str, Any]) -> list[dict[str, Any]]:
    """One row per device of the run's lab health check (results.json ``lab_health``, as harness.health
    writes it: ``{"devices": [{name, healthy, duration_s, checks: [{name, ok, detail}]}], ...}``), with the
    transient faults retried on that device (``retries``)."""
    health = results.get("lab_health")
    devices = health.get("devices") if isinstance(health, Mapping) else None
    retries = results.get("retries") if isinstance(results.get("retries"), Mapping) else {}
    rows = []
    for entry in devices or ():
        if not isinstance(entry, Mapping):
            continue
        failed = [f"{c.get('name', '?')}: {c.get('detail', '')}".rstrip(": ")
                  for c in entry.get("checks") or () if isinstance(c, Mapping) and not c.get("ok", True)]
        name = str(entry.get("name", "?"))
        duration = entry.get("duration_s")
        rows.append({"device": name, "healthy": bool(entry.get("healthy", not failed)), "failed": failed,
                     "duration_s": float(duration) if isinstance(duration, int | float) else None,
                     "retries": len(retries.get(name) or ())})
    return rows


def versus_rows(records: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Model against model, one row per device (the ``versus`` fact of harness/scenarios/test_versus.py)."""
    rows = []
    for rec in records:
        v = (rec.get("facts") or {}).get("versus")
        if isinstance(v, Mapping) and isinstance(v.get("latency_ratio"), int | float):
            rows.append({"device": rec["device"], **{k: v.get(k) for k in (
                "model", "reference", "latency_ratio", "memory_ratio", "agreement", "top1_agreement", "sets",
                "ok", "breaches", "note")}})
    return rows


def view(results: Mapping[str, Any], history: Sequence[Mapping[str, Any]] = (), *,
         links: Mapping[str, str] | None = None) -> dict[str, Any]:
    """Everything the template shows; ``history`` is earlier runs, oldest first (the trend lines)."""
    records = results["records"]
    env = results.get("environment") or {}
    scenarios = sorted({r["scenario"] for r in records})
    env_devices = [d["name"] for d in env.get("devices") or ()]
    devices = env_devices + sorted({r["device"] for r in records} - set(env_devices))
    trend = trend_of([*history, results])
    unexpected, expected = split_diagnoses(records)
    return {
        "results": results, "env": env, "summary_line": summary_line(results["summary"]),
        "verdict": verdict(results, unexpected), "lab_health": lab_health_rows(results),
        "scenarios": scenarios, "devices": devices, "matrix": {(r["device"], r["scenario"]): r for r in records},
        "no_device": NO_DEVICE, "runs_in_trend": len(history) + 1,
        "device_views": [_device_view(d, [r for r in records if r["device"] == d], trend)
                         for d in devices if d != NO_DEVICE],
        "versus": versus_rows(records), "unexpected": unexpected, "expected": expected,
        "logged": [r for r in records if r.get("logs")],
        "facts": [(r, json.dumps(r["facts"], indent=1, default=str)) for r in records if r.get("facts")],
        "emulated": any(d.get("emulated") for d in env.get("devices") or ()) or any(r.get("emulated") for r in records),
        "qemu_note": QEMU_NOTE, "comparison": results.get("comparison"), "links": links or {},
    }


def render_index(results: Mapping[str, Any], out: Path, history: Sequence[Mapping[str, Any]] = (), *,
                 links: Mapping[str, str] | None = None) -> Path:
    """Write the page to ``out`` and return it."""
    jinja = Environment(loader=FileSystemLoader(report_templates_dir()), autoescape=select_autoescape(["html", "j2"]),
                        trim_blocks=True, lstrip_blocks=True)
    html = jinja.get_template("index.html.j2").render(**view(results, history, links=links))
    out.write_text(html, encoding="utf-8")
    return out
