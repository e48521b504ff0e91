"""Results in pytest-benchmark's JSON format, so ``pytest-benchmark compare`` works across nightly runs.

pytest-benchmark measures on the host and switches itself off under xdist; we only borrow its file
format, filled from the device's samples (seconds, as pytest-benchmark stores them). Quartiles use
our percentile rule (harness/ondevice/stats.py), not pytest-benchmark's interpolation.
"""

from __future__ import annotations

import json
import platform
import socket
import subprocess
from collections.abc import Iterable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from harness.bench.measure import BenchResult
from harness.ondevice.stats import percentile, summarize

FORMAT_VERSION = "5.3.1"  # the pytest-benchmark version whose file layout this follows
GIT_TIMEOUT = 5.0


def benchmark_stats(samples_s: list[float]) -> dict[str, Any]:
    """pytest-benchmark's ``stats`` block of one benchmark, from samples in seconds."""
    summary = summarize(samples_s)
    n, mean, stddev = len(samples_s), summary["mean"], summary["std"]
    q1, q3 = percentile(samples_s, 25), percentile(samples_s, 75)
    iqr = q3 - q1
    low, high = q1 - 1.5 * iqr, q3 + 1.5 * iqr
    inside = [x for x in samples_s if low <= x <= high]
    total = sum(samples_s)
    spread = sum(1 for x in samples_s if not mean - stddev <= x <= mean + stddev)
    return {
        "min": min(samples_s), "max": max(samples_s), "mean": mean, "stddev": stddev, "rounds": n,
        "median": summary["p50"], "iqr": iqr, "q1": q1, "q3": q3,
        "iqr_outliers": n - len(inside),
        "stddev_outliers": spread, "outliers": f"{spread};{n - len(inside)}",
        "ld15iqr": min(inside), "hd15iqr": max(inside), "ops": n / total if total else 0.0, "total": total,
        "iterations": 1, "data": samples_s,
    }


def _commit_info(cwd: Path) -> dict[str, Any]:
    def git(*args: str) -> str:
        try:
            out = subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True, timeout=GIT_TIMEOUT)
        except (OSError, subprocess.TimeoutExpired):
            return ""
        return out.stdout.strip() if out.returncode == 0 else ""

    return {"id": git("rev-parse", "HEAD") or None, "time": git("log", "-1", "--format=%cI") or None,
            "author_time": git("log", "-1", "--format=%aI") or None,
            "dirty": bool(git("status", "--porcelain", "--untracked-files=no")),
            "project": cwd.resolve().name, "branch": git("rev-parse", "--abbrev-ref", "HEAD") or None}


def document(results: Iterable[BenchResult], *, cwd: Path | None = None) -> dict[str, Any]:
    """The whole pytest-benchmark file: one benchmark per (device, model, runtime)."""
    benchmarks = []
    for r in results:
        name = f"{r.model}[{r.device}-{r.runtime}]"
        benchmarks.append({
            "group": r.model, "name": name, "fullname": f"hil-bench::{name}",
            "params": {"device": r.device, "runtime": r.runtime}, "param": f"{r.device}-{r.runtime}",
            "extra_info": {"runtime_version": r.runtime_version, "machine": r.machine, "emulated": r.emulated,
                           "note": r.note, "peak_rss_mb": r.peak_rss_mb, "load_s": r.load_s,
                           "first_inference_ms": r.first_inference_ms, "p90_ms": r.latency_ms["p90"],
                           "p99_ms": r.latency_ms["p99"], "valid": r.valid, "clock": "device perf_counter_ns"},
            "options": {"disable_gc": False, "timer": "device time.perf_counter_ns", "min_rounds":
                        r.settings.get("min_count"), "max_time": r.settings.get("max_seconds"),
                        "min_time": r.settings.get("min_seconds"), "warmup": r.settings.get("warmup_count")},
            "stats": benchmark_stats([ms / 1e3 for ms in r.samples_ms]),
        })
    return {
        "machine_info": {"node": socket.gethostname(), "processor": platform.processor(),
                         "machine": platform.machine(), "python_implementation": platform.python_implementation(),
                         "python_version": platform.python_version(), "system": platform.system(),
                         "release": platform.release(), "cpu": {}},
        "commit_info": _commit_info(cwd or Path.cwd()),
        "benchmarks": benchmarks,
        "datetime": datetime.now(UTC).isoformat(),
        "version": FORMAT_VERSION,
    }


def write(path: Path, results: Iterable[BenchResult]) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(document(results), indent=2) + "\n")
    return path
