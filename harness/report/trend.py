"""p50 and p90 per device over the previous runs in reports/: the nightly reader's "is it drifting" line.

Each earlier run is its ``reports/<run-id>/results.json`` (harness.report.compare.previous_runs reads them,
oldest first). A device's figure in one run is the mean over its scenarios' records for that runtime, so a
run with more scenarios does not look slower.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from harness.report.compare import latency

#: The percentiles the trend follows.
TREND_METRICS = ("p50", "p90")


@dataclass(frozen=True)
class Point:
    run_id: str
    value_ms: float


#: device -> (runtime, metric) -> points, oldest first.
Trend = dict[str, dict[tuple[str, str], list[Point]]]


def trend_of(runs: Sequence[Mapping[str, Any]], metrics: Sequence[str] = TREND_METRICS) -> Trend:
    """The series of every device, runtime and metric over ``runs`` (oldest first)."""
    out: Trend = {}
    for run in runs:
        per: dict[tuple[str, str, str], list[float]] = {}
        for rec in run.get("records") or ():
            for runtime, stats in (rec.get("stats") or {}).items():
                if not isinstance(stats, Mapping):
                    continue
                for metric in metrics:
                    value = latency(stats, metric)
                    if value is not None:
                        per.setdefault((rec["device"], runtime, metric), []).append(value)
        run_id = str(run.get("run_id") or "?")
        for (device, runtime, metric), values in per.items():
            point = Point(run_id, sum(values) / len(values))
            out.setdefault(device, {}).setdefault((runtime, metric), []).append(point)
    return out

