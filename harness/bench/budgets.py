"""Budgets: how slow and how large a model may be on a device type, and the check against a result.

Layers, later wins: the device profile's ``budgets`` (devices/profiles/*.yaml), the lab file's
per-device ``budgets``, then overrides from the command line or pytest (``--budget p90_ms=15``; a
``MODEL:`` prefix, e.g. ``tinycnn:p90_ms=15``, limits an override to one model).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from harness.errors import FailureClass, HilError

#: Budget name -> (what it limits, unit) in the failure message.
KEYS = {"p90_ms": ("p90", "ms"), "peak_rss_mb": ("peak RSS", "MB"), "load_s": ("load", "s")}


class BudgetSyntaxError(HilError):
    """A ``--budget`` override that does not parse; nothing was changed."""

    failure_class = FailureClass.BUDGET


class BudgetExceeded(AssertionError):
    """A measured figure is over its budget. ``str()`` is the report line, one per figure over."""

    failure_class = FailureClass.BUDGET

    def __init__(self, device: str, lines: list[str]) -> None:
        self.device = device
        self.lines = lines
        super().__init__("\n".join(lines))


@dataclass(frozen=True)
class Override:
    key: str
    value: float
    model: str | None = None


def parse_override(text: str) -> Override:
    """``[MODEL:]KEY=VALUE`` with KEY one of p90_ms, peak_rss_mb, load_s and VALUE a positive number."""
    head, sep, raw = str(text).partition("=")
    model, colon, key = head.strip().rpartition(":")
    key = key.strip()
    if not sep or key not in KEYS or (colon and not model.strip()):
        raise BudgetSyntaxError(f"budget {text!r}: expected [MODEL:]KEY=VALUE with KEY one of {', '.join(KEYS)}",
                                step="budget", advice="e.g. --budget p90_ms=15 or --budget tinycnn:load_s=2")
    try:
        value = float(raw)
    except ValueError:
        value = math.nan
    if not math.isfinite(value) or value <= 0:
        raise BudgetSyntaxError(f"budget {text!r}: {raw.strip()!r} is not a positive number", step="budget")
    return Override(key, value, model.strip() or None)


def merge(*layers: Mapping[str, float | None] | None, overrides: Iterable[Override] = (),
          model: str | None = None) -> dict[str, float]:
    """The budgets in force: each layer's set keys over the previous, then the overrides for ``model``."""
    merged: dict[str, float] = {}
    for layer in layers:
        for key, value in (layer or {}).items():
            if key not in KEYS:
                raise BudgetSyntaxError(f"unknown budget {key!r} (known: {', '.join(KEYS)})", step="budget")
            if value is not None:
                merged[key] = float(value)
    for override in overrides:
        if override.model is None or override.model == model:
            merged[override.key] = override.value
    return merged


def violations(device: str, figures: Mapping[str, float], budgets: Mapping[str, float], *,
               p50_ms: float, count: int) -> list[str]:
    """One line per figure over its budget, e.g. ``rasp4b-emu: p90 18.4 ms > budget 15.0 ms (p50 12.1, n=300)``."""
    lines = []
    for key, limit in budgets.items():
        value = figures.get(key)
        if value is None or value <= limit:
            continue
        label, unit = KEYS[key]
        line = f"{device}: {label} {value:.1f} {unit} > budget {limit:.1f} {unit}"
        if key == "p90_ms":
            line += f" (p50 {p50_ms:.1f}, n={count})"
        lines.append(line)
    return lines



def budgets_for(device: object, overrides: Iterable[Override] = (), model: str | None = None) -> dict[str, float]:
    """A lab device's budgets: its profile's, then its lab-file entry's, then ``overrides`` for ``model``."""
    profile = getattr(getattr(device, "profile", None), "budgets", None)
    spec = getattr(getattr(device, "spec", None), "budgets", None)
    return merge(profile.model_dump() if profile else None, spec.model_dump() if spec else None,
                 overrides=overrides, model=model)
