"""A run against a baseline: latency regressions beyond a threshold, new failures, fixed ones.

Figures are compared per device × scenario × runtime on one percentile (p90 by default): a regression
is ``new > old × (1 + threshold)``. A cell failing now that passed, was skipped or did not exist before
is a new failure; one that failed before and passes now is fixed. Regressions and new failures fail
the run; fixed cells and improvements are shown only.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from harness.report.results_json import ReportError, load_results

METRICS = ("p50", "p90", "p99")
BAD = ("failed", "error")


@dataclass(frozen=True)
class Change:
    device: str
    scenario: str
    runtime: str
    metric: str
    old: float
    new: float

    @property
    def ratio(self) -> float:
        return self.new / self.old - 1.0


@dataclass(frozen=True)
class StatusChange:
    device: str
    scenario: str
    old: str | None
    new: str
    failure_class: str | None


@dataclass
class Comparison:
    baseline: str
    metric: str
    threshold: float
    regressions: list[Change] = field(default_factory=list)
    improvements: list[Change] = field(default_factory=list)
    new_failures: list[StatusChange] = field(default_factory=list)
    fixed: list[StatusChange] = field(default_factory=list)

    @property
    def failed(self) -> bool:
        return bool(self.regressions or self.new_failures)

    def as_dict(self) -> dict[str, Any]:
        changes = {k: [dict(asdict(c), ratio=c.ratio) for c in getattr(self, k)]
                   for k in ("regressions", "improvements")}
        return {"baseline": self.baseline, "metric": self.metric, "threshold": self.threshold, **changes,
                "new_failures": [asdict(c) for c in self.new_failures], "fixed": [asdict(c) for c in self.fixed],
                "failed": self.failed}

    def lines(self) -> list[str]:
        """One line per finding, for the terminal."""
        out = [f"regression {c.device} {c.scenario} {c.runtime}: {c.metric} {c.old:.3f} -> {c.new:.3f} ms "
               f"({c.ratio:+.1%}, threshold +{self.threshold:.0%})" for c in self.regressions]
        out += [f"new failure {c.device} {c.scenario}: {c.old or 'absent'} -> {c.new}"
                + (f" [{c.failure_class}]" if c.failure_class else "") for c in self.new_failures]
        out += [f"fixed {c.device} {c.scenario}: {c.old} -> {c.new}" for c in self.fixed]
        return out


def latency(stats: Mapping[str, Any], metric: str) -> float | None:
    """A runtime's percentile in ms, from ``p90`` or ``p90_ms``; None when absent or not a positive number."""
    for key in (metric, f"{metric}_ms"):
        value = stats.get(key)
        if isinstance(value, int | float) and not isinstance(value, bool) and value > 0:
            return float(value)
    return None


def compare(old: Mapping[str, Any], new: Mapping[str, Any], *, metric: str = "p90", threshold: float = 0.10,
            baseline: str = "") -> Comparison:
    """Findings of ``new`` against ``old`` (both results documents)."""
    if metric not in METRICS:
        raise ReportError(f"unknown metric {metric!r}; use one of {', '.join(METRICS)}", step="compare")
    if not 0.0 <= threshold < 100.0:
        raise ReportError(f"threshold {threshold!r} is not a fraction >= 0 (0.10 means +10 %)", step="compare")
    result = Comparison(baseline, metric, threshold)
    before = {(r["device"], r["scenario"]): r for r in old["records"]}
    for rec in new["records"]:
        key = (rec["device"], rec["scenario"])
        prev = before.get(key)
        old_status = prev["status"] if prev else None
        if rec["status"] in BAD and old_status not in BAD:
            result.new_failures.append(StatusChange(*key, old_status, rec["status"], rec.get("class")))
        elif old_status in BAD and rec["status"] == "passed":
            result.fixed.append(StatusChange(*key, old_status, rec["status"], prev.get("class") if prev else None))
        if prev is None:
            continue
        for runtime, stats in (rec.get("stats") or {}).items():
            prev_stats = (prev.get("stats") or {}).get(runtime)
            if not isinstance(stats, Mapping) or not isinstance(prev_stats, Mapping):
                continue
            a, b = latency(prev_stats, metric), latency(stats, metric)
            if a is None or b is None:
                continue
            change = Change(*key, runtime, metric, a, b)
            if b > a * (1.0 + threshold):
                result.regressions.append(change)
            elif b < a * (1.0 - threshold):
                result.improvements.append(change)
    return result


def compare_files(old: Path, new: Path, *, metric: str = "p90", threshold: float = 0.10) -> Comparison:
    return compare(load_results(old), load_results(new), metric=metric, threshold=threshold, baseline=str(old))


def previous_runs(reports: Path, *, exclude: Path | None = None, limit: int = 10) -> list[dict[str, Any]]:
    """The last ``limit`` readable results.json under reports/<run-id>/, oldest first (run ids sort by time)."""
    found: list[dict[str, Any]] = []
    for path in sorted(reports.glob("*/results.json")):
        if exclude is not None and path.parent == exclude:
            continue
        try:
            found.append(load_results(path))
        except ReportError:
            continue  # an older schema or a broken run has no place on a trend line
    return found[-limit:]
