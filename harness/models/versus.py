"""Model against model: a new model version judged beside the one it replaces, on the same device and inputs.

``hil run --model NEW --reference-model OLD`` compiles both for each device's Neo target and measures both
there with DLR; NEW's outputs on the device are compared with OLD run on the host (its own runtime: ONNX
Runtime or LiteRT) on the same inputs, output by output in model order, with the dtype's tolerance. The
latency and memory ratios and the share of agreeing input sets are held against thresholds: one verdict
per device, so a release decision reads one table.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass

import numpy as np

from harness.models.errors import ModelWorkloadError
from harness.models.tolerance import compare


@dataclass(frozen=True)
class Thresholds:
    """NEW p50 / OLD p50 and NEW peak RSS / OLD peak RSS at most these; agreeing input sets at least this share."""

    max_latency_ratio: float = 1.10
    max_memory_ratio: float = 1.10
    min_agreement: float = 1.0

    def __post_init__(self) -> None:
        for name in ("max_latency_ratio", "max_memory_ratio", "min_agreement"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int | float) or not np.isfinite(value):
                raise ModelWorkloadError(f"{name} {value!r}: not a number", step="model against model")
        for name in ("max_latency_ratio", "max_memory_ratio"):
            if getattr(self, name) <= 0:
                raise ModelWorkloadError(f"{name} {getattr(self, name)!r}: a ratio must be above 0",
                                         step="model against model")
        if not 0 <= self.min_agreement <= 1:
            raise ModelWorkloadError(f"min_agreement {self.min_agreement!r}: a share must be in [0, 1]",
                                     step="model against model")


@dataclass(frozen=True)
class SetAgreement:
    """NEW on the device against OLD on the host for one input set."""

    label: str
    agrees: bool  # every output within its dtype's tolerance
    same_top1: bool | None  # argmax of the first output equal (None for a one-element output)
    detail: str  # the first disagreement, or "" when it agrees


def agree(label: str, new: Mapping[str, np.ndarray], old: Mapping[str, np.ndarray]) -> SetAgreement:
    """Pair the outputs by position (versions may rename them) and compare each with OLD's dtype rule."""
    a, b = list(new.items()), list(old.items())
    if len(a) != len(b):
        return SetAgreement(label, False, None, f"NEW has {len(a)} outputs, OLD {len(b)}")
    problems = []
    for (new_name, got), (old_name, want) in zip(a, b, strict=True):
        got, want = np.asarray(got), np.asarray(want)
        shown = new_name if new_name == old_name else f"{new_name} (OLD {old_name})"
        if got.shape != want.shape:
            problems.append(f"{shown}: shape {list(got.shape)} vs OLD's {list(want.shape)}")
            continue
        verdict = compare(shown, want, got.astype(want.dtype, copy=False))
        if not verdict.ok:
            problems.append(verdict.describe())
    first_new, first_old = np.asarray(a[0][1]) if a else None, np.asarray(b[0][1]) if b else None
    top1 = None
    if first_new is not None and first_old is not None and first_new.shape == first_old.shape and first_new.size > 1:
        top1 = int(np.argmax(first_new)) == int(np.argmax(first_old))
    return SetAgreement(label, not problems, top1, "; ".join(problems))


@dataclass(frozen=True)
class Versus:
    """The verdict for one device: ratios NEW/OLD, agreement, and the thresholds it breaks (none: ok)."""

    device: str
    model: str
    reference: str
    p50_ms: float
    reference_p50_ms: float
    peak_rss_mb: float
    reference_peak_rss_mb: float
    latency_ratio: float
    memory_ratio: float
    agreement: float  # share of input sets on which every output agrees
    top1_agreement: float | None  # share of sets with the same argmax of the first output
    sets: int
    disagreements: tuple[str, ...]
    breaches: tuple[str, ...]

    @property
    def ok(self) -> bool:
        return not self.breaches

    def as_dict(self) -> dict[str, object]:
        return {**asdict(self), "ok": self.ok, "disagreements": list(self.disagreements),
                "breaches": list(self.breaches)}

    def summary(self) -> str:
        word = "within thresholds" if self.ok else "; ".join(self.breaches)
        return (f"{self.device}: {self.model} vs {self.reference}: p50 {self.latency_ratio:.2f}x, peak RSS "
                f"{self.memory_ratio:.2f}x, {self.agreement:.0%} of {self.sets} input sets agree: {word}")


def judge(device: str, model: str, reference: str, *, p50_ms: float, reference_p50_ms: float, peak_rss_mb: float,
          reference_peak_rss_mb: float, sets: list[SetAgreement], thresholds: Thresholds) -> Versus:
    """The device's verdict: each threshold the ratios or the agreement break is one line."""
    if not sets:
        raise ModelWorkloadError("no input sets to compare the models on", step="model against model")
    for name, value in (("p50", p50_ms), ("reference p50", reference_p50_ms), ("peak RSS", peak_rss_mb),
                        ("reference peak RSS", reference_peak_rss_mb)):
        if not value > 0:
            raise ModelWorkloadError(f"{device}: {name} {value!r} is not a positive figure", step="model against model")
    latency, memory = p50_ms / reference_p50_ms, peak_rss_mb / reference_peak_rss_mb
    agreement = sum(s.agrees for s in sets) / len(sets)
    tops = [s.same_top1 for s in sets if s.same_top1 is not None]
    breaches = []
    if latency > thresholds.max_latency_ratio:
        breaches.append(f"p50 {p50_ms:.3g} ms is {latency:.2f}x the reference's {reference_p50_ms:.3g} ms "
                        f"(limit {thresholds.max_latency_ratio:g}x)")
    if memory > thresholds.max_memory_ratio:
        breaches.append(f"peak RSS {peak_rss_mb:.1f} MB is {memory:.2f}x the reference's "
                        f"{reference_peak_rss_mb:.1f} MB (limit {thresholds.max_memory_ratio:g}x)")
    if agreement < thresholds.min_agreement:
        breaches.append(f"outputs agree with the reference on {agreement:.0%} of {len(sets)} input sets "
                        f"(at least {thresholds.min_agreement:.0%} required)")
    return Versus(device, model, reference, p50_ms, reference_p50_ms, peak_rss_mb, reference_peak_rss_mb,
                  latency, memory, agreement, sum(tops) / len(tops) if tops else None, len(sets),
                  tuple(f"{s.label}: {s.detail}" for s in sets if not s.agrees), tuple(breaches))
