"""index.html: one self-contained page (inline CSS, PNG data URLs) from a results document."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, select_autoescape

from harness.report import plots
from harness.report.compare import latency, trend
from harness.report.results_json import NO_DEVICE, summary_line

_TEMPLATES = Path(__file__).parent / "templates"
QEMU_NOTE = ("qemu figures are not device figures: an emulated core of a foreign architecture runs under "
             "qemu-user (10-30x slower), and no emulated core has a board's CPU, memory bus or thermals")
TABLE_KEYS = ("count", "p50", "p90", "p99", "peak_rss_mb", "load_s")


def _figure(stats: Mapping[str, Any], key: str) -> float | None:
    if key in ("p50", "p90", "p99"):
        return latency(stats, key)
    value = stats.get(key)
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


def _device_view(device: str, records: Sequence[Mapping[str, Any]], history: Sequence[Mapping[str, Any]],
                 metric: str) -> dict[str, Any]:
    """The device's figures: runtime table, latency/memory plots, trend."""
    with_stats = [r for r in records if r.get("stats")]
    several = len(with_stats) > 1
    rows, samples, rss = [], {}, {}
    budget = next((r["budgets"]["peak_rss_mb"] for r in records
                   if isinstance((r.get("budgets") or {}).get("peak_rss_mb"), int | float)), None)
    for rec in with_stats:
        for runtime, stats in rec["stats"].items():
            if not isinstance(stats, Mapping):
                continue
            label = f"{rec['scenario']}: {runtime}" if several else runtime
            rows.append({"label": label, "runtime": runtime, **{k: _figure(stats, k) for k in TABLE_KEYS}})
            samples[label] = plots.samples_of(stats)
            if _figure(stats, "peak_rss_mb") is not None:
                rss[label] = _figure(stats, "peak_rss_mb")
    p90 = {row["runtime"]: row["p90"] for row in rows if row["p90"]}
    ratio = p90["onnxruntime"] / p90["dlr"] if "dlr" in p90 and "onnxruntime" in p90 else None
    return {"name": device, "rows": rows, "ratio": ratio, "budget_mb": budget,
            "latency_png": plots.latency_plot(device, samples), "memory_png": plots.memory_plot(device, rss, budget),
            "trend_png": plots.trend_plot(device, trend(history, metric).get(device, {}), metric)}


def view(results: Mapping[str, Any], history: Sequence[Mapping[str, Any]] = (), *,
         links: Mapping[str, str] | None = None) -> dict[str, Any]:
    """Everything the template shows; ``history`` is earlier runs, oldest first (the trend lines)."""
    records = results["records"]
    env = results.get("environment") or {}
    scenarios = sorted({r["scenario"] for r in records})
    env_devices = [d["name"] for d in env.get("devices") or ()]
    devices = env_devices + sorted({r["device"] for r in records} - set(env_devices))
    matrix = {(r["device"], r["scenario"]): r for r in records}
    comparison = results.get("comparison")
    metric = comparison["metric"] if comparison else "p90"
    runs = [*history, results]
    return {
        "results": results, "env": env, "summary_line": summary_line(results["summary"]),
        "scenarios": scenarios, "devices": devices, "matrix": matrix, "no_device": NO_DEVICE,
        "device_views": [_device_view(d, [r for r in records if r["device"] == d], runs, metric)
                         for d in devices if d != NO_DEVICE],
        "diagnosed": [(r, d) for r in records for d in r.get("diagnoses") or ()],
        "failures": [(r, t) for r in records for t in r["tests"] if t["status"] in ("failed", "error")],
        "logged": [r for r in records if r.get("logs")],
        "facts": [(r, json.dumps(r["facts"], indent=1, default=str)) for r in records if r.get("facts")],
        "emulated": any(d.get("emulated") for d in env.get("devices") or ()) or any(r.get("emulated") for r in records),
        "qemu_note": QEMU_NOTE, "comparison": comparison, "links": links or {},
    }


def render_index(results: Mapping[str, Any], out: Path, history: Sequence[Mapping[str, Any]] = (), *,
                 links: Mapping[str, str] | None = None) -> Path:
    """Write the page to ``out`` and return it."""
    jinja = Environment(loader=FileSystemLoader(_TEMPLATES), autoescape=select_autoescape(["html", "j2"]),
                        trim_blocks=True, lstrip_blocks=True)
    html = jinja.get_template("index.html.j2").render(**view(results, history, links=links))
    out.write_text(html, encoding="utf-8")
    return out
