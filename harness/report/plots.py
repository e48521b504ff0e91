"""The report's figures as base64 PNGs (matplotlib, Agg): latency histogram + CDF, memory vs budget,
p50/p90 trend over runs.

PNG data URLs keep index.html one self-contained file that renders the same in any browser.
"""

from __future__ import annotations

import base64
import io
from collections.abc import Mapping, Sequence

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402 - after the backend is chosen

from harness.report.trend import Point  # noqa: E402

_DPI = 90


def _png(fig: plt.Figure) -> str:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=_DPI, bbox_inches="tight")
    plt.close(fig)
    return base64.b64encode(buf.getvalue()).decode("ascii")


def samples_of(stats: Mapping[str, object]) -> list[float]:
    """The latency samples (ms) a runtime's stats carry under ``samples`` or ``samples_ms``."""
    for key in ("samples", "samples_ms"):
        values = stats.get(key)
        if isinstance(values, list) and values:
            return [float(v) for v in values if isinstance(v, int | float) and not isinstance(v, bool)]
    return []


def latency_plot(device: str, samples: Mapping[str, Sequence[float]]) -> str | None:
    """Histogram and empirical CDF of each runtime's samples, side by side; None without samples."""
    series = {runtime: sorted(values) for runtime, values in samples.items() if values}
    if not series:
        return None
    low = min(v[0] for v in series.values())
    high = max(v[-1] for v in series.values())
    count = min(40, max(5, max(len(v) for v in series.values()) // 5))
    edges = [low + (high - low) * i / count for i in range(count + 1)] if high > low else count
    fig, (hist, cdf) = plt.subplots(1, 2, figsize=(9, 3.2))
    for runtime, values in series.items():  # shared bin edges: runtimes side by side on one scale
        hist.hist(values, bins=edges, alpha=0.6, label=runtime)
        n = len(values)
        cdf.step(values, [(i + 1) / n for i in range(n)], where="post", label=runtime)
    hist.set(title=f"{device}: latency histogram", xlabel="latency (ms)", ylabel="queries")
    cdf.set(title=f"{device}: latency CDF", xlabel="latency (ms)", ylabel="fraction of queries", ylim=(0, 1.02))
    cdf.axhline(0.9, color="grey", linewidth=0.6, linestyle="--")
    for ax in (hist, cdf):
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
    return _png(fig)


def memory_plot(device: str, peak_rss_mb: Mapping[str, float], budget_mb: float | None) -> str | None:
    """Peak RSS per runtime as bars, the budget as a line; None without figures."""
    if not peak_rss_mb:
        return None
    fig, ax = plt.subplots(figsize=(4.5, 3.0))
    names = list(peak_rss_mb)
    over = [budget_mb is not None and peak_rss_mb[n] > budget_mb for n in names]
    ax.bar(names, [peak_rss_mb[n] for n in names], color=["#c0392b" if o else "#2e86c1" for o in over])
    if budget_mb is not None:
        ax.axhline(budget_mb, color="#c0392b", linestyle="--", label=f"budget {budget_mb:g} MB")
        ax.legend(fontsize=8)
    ax.set(title=f"{device}: peak RSS", ylabel="MB")
    ax.grid(axis="y", alpha=0.3)
    return _png(fig)


def trend_plot(device: str, series: Mapping[tuple[str, str], Sequence[Point]]) -> str | None:
    """p50 (solid) and p90 (dashed) per runtime over runs, oldest left; None with fewer than two runs."""
    if not any(len(points) >= 2 for points in series.values()):
        return None
    runs = list(dict.fromkeys(p.run_id for points in series.values() for p in points))
    fig, ax = plt.subplots(figsize=(4.5, 3.0))
    colours: dict[str, str] = {}
    for (runtime, metric), points in sorted(series.items()):
        colour = colours.setdefault(runtime, f"C{len(colours)}")
        ax.plot([runs.index(p.run_id) for p in points], [p.value_ms for p in points], marker="o", markersize=3,
                color=colour, linestyle="-" if metric == "p50" else "--", label=f"{runtime} {metric}")
    ax.set_xticks(range(len(runs)), [run[:15] for run in runs])
    ax.set(title=f"{device}: p50/p90 over the last {len(runs)} runs", ylabel="ms")
    ax.tick_params(axis="x", labelrotation=30, labelsize=6)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7)
    return _png(fig)
