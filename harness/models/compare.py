"""Check a device's output message (harness.ondevice.output_summary) against the host reference outputs.

Whole outputs ("values", "base64") are compared element by element with the dtype's rule
(harness.models.tolerance). A fingerprint ("summary") is compared on what it carries: the checksum
when both sides agree bit for bit, else the leading values, minimum and maximum, the top-k indices
and values, and the argmax (it must hold a reference value within tolerance of the reference
maximum: a near-tie may pick another index, a different answer may not).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from harness.models.tolerance import Agreement, Rule, compare, rule_for
from harness.ondevice import output_summary


@dataclass(frozen=True)
class PayloadVerdict:
    agreements: tuple[Agreement, ...]
    error: str = ""  # the message itself is malformed

    @property
    def ok(self) -> bool:
        return not self.error and all(a.ok for a in self.agreements)

    def describe(self) -> str:
        if self.error:
            return f"malformed output message: {self.error}"
        return "; ".join(a.describe() for a in self.agreements if not a.ok) or "all outputs agree"


def compare_payload(payload: bytes | str | Mapping[str, object], reference: Mapping[str, np.ndarray],
                    rules: Mapping[str, Rule] | None = None) -> PayloadVerdict:
    """One Agreement per reference output, in the reference's order."""
    rules = rules or {}
    try:
        message = json.loads(payload) if isinstance(payload, (bytes, str)) else payload
        if message.get("schema") != output_summary.SCHEMA:
            return PayloadVerdict((), f"schema {message.get('schema')!r}, expected {output_summary.SCHEMA!r}")
        entries = {str(e["name"]): e for e in message["outputs"]}
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        return PayloadVerdict((), f"{type(exc).__name__}: {str(exc)[:200]}")
    verdicts = []
    for name, want in reference.items():
        want = np.asarray(want)
        entry = entries.get(name)
        if entry is None:
            verdicts.append(Agreement(name, False, "missing from the device's message", size=want.size))
            continue
        try:
            verdicts.append(_compare_entry(name, entry, want, rules.get(name)))
        except (ValueError, KeyError, TypeError) as exc:
            verdicts.append(Agreement(name, False, f"unreadable entry ({type(exc).__name__}: {str(exc)[:120]})"))
    verdicts += [Agreement(n, False, "not an output of the reference model") for n in entries if n not in reference]
    return PayloadVerdict(tuple(verdicts))


def _compare_entry(name: str, entry: Mapping[str, object], want: np.ndarray, rule: Rule | None) -> Agreement:
    shape, dtype = [int(d) for d in entry["shape"]], str(entry["dtype"])  # type: ignore[union-attr]
    if shape != list(want.shape) or dtype != want.dtype.name:
        return Agreement(name, False, f"{dtype}{shape} != reference {want.dtype.name}{list(want.shape)}",
                         size=want.size)
    got = output_summary.decode_entry(entry)
    if got is not None:
        return compare(name, want, got, rule)
    if entry["sha256"] == output_summary.checksum(want):
        return Agreement(name, True, "", size=want.size)
    flat = want.reshape(-1)
    lead = output_summary.leading_values(entry)
    verdict = compare(name, flat[:lead.size], lead, rule)
    if not verdict.ok:
        return Agreement(name, False, f"leading values: {verdict.reason}", size=want.size)
    if want.size and want.dtype.kind in "fiub":
        for key, reduce in (("min", np.nanmin), ("max", np.nanmax)):
            if key in entry and not np.isnan(want.astype(np.float64)).all():
                device = output_summary.from_plain([entry[key]], np.dtype(np.float64))
                host = np.array([reduce(want.astype(np.float64))])
                verdict = compare(name, host.astype(want.dtype), device.astype(want.dtype), rule)
                if not verdict.ok:
                    return Agreement(name, False, f"{key}: {verdict.reason}", size=want.size)
    top = entry.get("top_k") or []
    if top:
        index = np.array([int(i) for i, _ in top])  # type: ignore[misc]
        values = output_summary.from_plain([v for _, v in top], want.dtype)  # type: ignore[misc]
        verdict = compare(name, flat[index], values, rule)
        if not verdict.ok:
            return Agreement(name, False, f"top-k values: {verdict.reason}", size=want.size)
        r = rule_for(want.dtype, rule)
        kth = float(np.min(values.astype(np.float64)))
        reference_top = np.argsort(-np.nan_to_num(flat.astype(np.float64), nan=-np.inf), kind="stable")[:index.size]
        for i in reference_top:  # an element clearly above the device's k-th value must be in its top-k
            if float(flat[i]) > kth + r.atol + r.rtol * abs(kth) and int(i) not in set(index.tolist()):
                return Agreement(name, False, f"reference element {int(i)} ({float(flat[i])!r}) is missing from the "
                                              f"device's top-{index.size}", size=want.size)
        best = float(np.nanmax(flat.astype(np.float64)))
        at = float(flat[int(entry["argmax"])])  # type: ignore[arg-type]
        if not best - at <= r.atol + r.rtol * abs(best):
            return Agreement(name, False, f"argmax {entry['argmax']} holds {at!r} in the reference, whose maximum is "
                                          f"{best!r} at {int(np.nanargmax(flat))}", size=want.size)
    return Agreement(name, True, "", size=want.size)
