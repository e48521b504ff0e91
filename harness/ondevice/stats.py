"""Latency statistics shared by the on-device agent and the host (stdlib only: it is sent to devices).

Percentiles follow MLPerf LoadGen (``loadgen/results.cc``): sort the samples and take
``sorted[floor(n * p)]`` for p < 1 — an observed latency, never an interpolation, so "p90 = x" means at
least 90 % of queries took at most x. It is not numpy's default (linear interpolation). The median
(p50) is the same rule, i.e. the upper middle sample for an even count.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

#: The percentiles every summary reports.
PERCENTILES = (50.0, 90.0, 99.0)


def percentile(samples: Sequence[float], q: float) -> float:
    """The q-th percentile (0 <= q <= 100) by LoadGen's rule: ``sorted[min(floor(n*q/100), n-1)]``."""
    if not samples:
        raise ValueError("percentile of no samples")
    if not 0.0 <= q <= 100.0 or math.isnan(q):
        raise ValueError(f"percentile {q!r} is outside 0..100")
    ordered = sorted(samples)
    n = len(ordered)
    # n*q/100 in exact integer arithmetic where q is whole, so 10 samples at p90 index 9, not 8.999…
    index = (n * int(q)) // 100 if float(q).is_integer() else math.floor(n * q / 100.0)
    return ordered[min(index, n - 1)]


def summarize(samples_ms: Sequence[float]) -> dict[str, float | int]:
    """count, mean, std (sample, n-1), min, p50, p90, p99, max of latencies in milliseconds."""
    n = len(samples_ms)
    if n == 0:
        raise ValueError("no samples to summarize")
    mean = math.fsum(samples_ms) / n
    var = math.fsum((x - mean) ** 2 for x in samples_ms) / (n - 1) if n > 1 else 0.0
    out: dict[str, float | int] = {"count": n, "mean": mean, "std": math.sqrt(var),
                                   "min": min(samples_ms), "max": max(samples_ms)}
    for q in PERCENTILES:
        out[f"p{q:g}"] = percentile(samples_ms, q)
    return out
