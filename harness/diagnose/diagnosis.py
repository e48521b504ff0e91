"""Evidence → Diagnosis: the strongest specific signature wins; none, or a tie between classes, is "unknown".

Never raises: a diagnosis is asked for exactly when things went wrong, so it must not add a failure.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from harness.diagnose.evidence import Evidence
from harness.diagnose.rules import RULES, UNKNOWN, Match
from harness.errors import FailureClass

UNKNOWN_ADVICE = ("no known failure signature: read the evidence below and the device logs "
                  "(/greengrass/v2/logs), and run preflight for this artifact on the device")


@dataclass(frozen=True)
class Diagnosis:
    failure_class: FailureClass
    summary: str
    evidence: list[str] = field(default_factory=list)
    advice: str = ""

    def as_dict(self) -> dict[str, Any]:
        """``{class, summary, evidence, advice}``: the shape results.json and `hil_record.diagnosis` take."""
        return {"class": self.failure_class, "summary": self.summary, "evidence": list(self.evidence),
                "advice": self.advice}

    def __str__(self) -> str:
        lines = [f"[{self.failure_class}] {self.summary}", f"  advice: {self.advice}", "  evidence:"]
        return "\n".join(lines + [f"    {line}" for line in self.evidence])


def matches(evidence: Evidence) -> list[Match]:
    """Every rule's match, strongest first (a rule that trips over odd input is skipped, not fatal)."""
    text = evidence.text()
    found = []
    for rule in RULES:
        try:
            m = rule(evidence, text)
        except Exception:  # noqa: BLE001 - a diagnosis must never add a failure of its own
            continue
        if m is not None:
            found.append(m)
    return sorted(found, key=lambda m: -m.strength)


def diagnose(evidence: Evidence) -> Diagnosis:
    """The one class the evidence specifically shows, else ``unknown`` with the evidence."""
    try:
        lines = evidence.lines()
    except Exception:  # noqa: BLE001
        lines = ["(evidence could not be rendered)"]
    found = matches(evidence)
    if not found:
        return Diagnosis(UNKNOWN, "no known failure signature in the evidence", lines, UNKNOWN_ADVICE)
    best = found[0].strength
    top = {m.failure_class: m for m in found if m.strength == best}
    if len(top) > 1:
        names = " and ".join(sorted(top))
        return Diagnosis(UNKNOWN, f"conflicting evidence: it points at {names}",
                         [f"{m.failure_class}: {m.quote}" for m in top.values()] + lines, UNKNOWN_ADVICE)
    m = next(iter(top.values()))
    quoted = [f"matched: {m.quote}"] if m.quote else []
    return Diagnosis(m.failure_class, m.summary, quoted + lines, m.advice)
