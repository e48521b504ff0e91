"""When a device's output agrees with the host reference: one rule per dtype, one typed verdict.

float32: |got - want| <= atol + rtol * |want| (numpy.isclose's rule), NaN only matches NaN and an
infinity only itself. float16 is looser (10 bits of mantissa). int8/uint8 outputs of quantized
models may differ by one step (rounding of the requantization differs between runtimes); other
integers and bool must be exact.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Rule:
    """Allowed difference: ``atol + rtol * |want|`` per element (integers: ``atol`` steps, rtol 0)."""

    atol: float
    rtol: float = 0.0


RULES: dict[str, Rule] = {
    "float64": Rule(atol=1e-6, rtol=1e-6),
    "float32": Rule(atol=1e-3, rtol=1e-3),
    "float16": Rule(atol=1e-2, rtol=1e-2),
    "int8": Rule(atol=1),
    "uint8": Rule(atol=1),
    "int16": Rule(atol=0),
    "int32": Rule(atol=0),
    "int64": Rule(atol=0),
    "bool": Rule(atol=0),
}


@dataclass(frozen=True)
class Agreement:
    """The verdict for one output; on disagreement, the worst element and what it was allowed."""

    name: str
    ok: bool
    reason: str  # "" when ok; else a one-line explanation
    worst_index: tuple[int, ...] | None = None
    want: float | None = None
    got: float | None = None
    difference: float | None = None
    allowed: float | None = None
    mismatched: int = 0  # elements outside the rule
    size: int = 0

    def describe(self) -> str:
        if self.ok:
            return f"{self.name}: agrees ({self.size} elements)"
        return f"{self.name}: {self.reason}"


def rule_for(dtype: str | np.dtype, rule: Rule | None = None) -> Rule:
    if rule is not None:
        return rule
    name = np.dtype(dtype).name
    if name not in RULES:
        raise ValueError(f"no agreement rule for dtype {name}")
    return RULES[name]


def compare(name: str, want: np.ndarray, got: np.ndarray, rule: Rule | None = None) -> Agreement:
    """Does ``got`` (the device) agree with ``want`` (the host reference)? Shapes and dtypes must match."""
    want, got = np.asarray(want), np.asarray(got)
    if want.shape != got.shape:
        return Agreement(name, False, f"shape {list(got.shape)} != reference {list(want.shape)}", size=got.size)
    if want.dtype != got.dtype:
        return Agreement(name, False, f"dtype {got.dtype} != reference {want.dtype}", size=got.size)
    r = rule_for(want.dtype, rule)
    if want.size == 0:
        return Agreement(name, True, "", size=0)
    if want.dtype.kind == "f":
        w, g = want.astype(np.float64), got.astype(np.float64)
        both_nan = np.isnan(w) & np.isnan(g)
        same_inf = np.isinf(w) & (w == g)
        with np.errstate(invalid="ignore"):
            diff = np.abs(g - w)
        allowed = r.atol + r.rtol * np.abs(np.where(np.isfinite(w), w, 0.0))
        bad = ~(both_nan | same_inf) & ~(diff <= allowed)  # NaN in diff (one side NaN or inf-inf) is bad
        excess = np.where(bad, np.nan_to_num(diff - allowed, nan=np.inf, posinf=np.inf), -np.inf)
    else:
        w, g = want.astype(np.int64), got.astype(np.int64)  # bool and every integer DLR carries fit
        diff = np.abs(g - w).astype(np.float64)
        allowed = np.full(w.shape, float(r.atol))
        bad = diff > allowed
        excess = np.where(bad, diff - allowed, -np.inf)
    count = int(bad.sum())
    if count == 0:
        return Agreement(name, True, "", size=want.size)
    flat = int(np.argmax(excess))
    index = tuple(int(i) for i in np.unravel_index(flat, want.shape))
    wv, gv = float(want.reshape(-1)[flat]), float(got.reshape(-1)[flat])
    dv, av = float(diff.reshape(-1)[flat]), float(allowed.reshape(-1)[flat])
    return Agreement(name, False, f"{count} of {want.size} elements differ; worst at {list(index)}: "
                                  f"{gv!r} vs reference {wv!r} (|diff| {dv:.3g} > allowed {av:.3g})",
                     worst_index=index, want=wv, got=gv, difference=dv, allowed=av, mismatched=count, size=want.size)


def compare_all(want: dict[str, np.ndarray], got: dict[str, np.ndarray],
                rules: dict[str, Rule] | None = None) -> list[Agreement]:
    """One Agreement per reference output, in the reference's order; a missing output disagrees."""
    rules = rules or {}
    verdicts = []
    for name, ref in want.items():
        if name not in got:
            verdicts.append(Agreement(name, False, "missing from the device's outputs", size=np.asarray(ref).size))
        else:
            verdicts.append(compare(name, ref, got[name], rules.get(name)))
    for name in got:
        if name not in want:
            verdicts.append(Agreement(name, False, "not an output of the reference model"))
    return verdicts
