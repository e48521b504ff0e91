"""One check's outcome, shared by artifact inspection and device preflight, and its printer."""

from __future__ import annotations

import sys
from dataclasses import asdict, dataclass
from typing import TextIO


@dataclass(frozen=True)
class Verdict:
    check: str
    ok: bool
    reason: str
    advice: str | None = None

    def as_dict(self) -> dict[str, object]:
        return asdict(self)


def print_verdicts(verdicts: list[Verdict], out: TextIO = sys.stdout) -> None:
    """`  ok   arch  …` / `  FAIL cpu   …` lines, advice indented under failures."""
    width = max((len(v.check) for v in verdicts), default=0)
    for v in verdicts:
        out.write(f"  {'ok  ' if v.ok else 'FAIL'} {v.check:<{width}}  {v.reason}\n")
        if v.advice and not v.ok:
            out.write(f"       {'':<{width}}  → {v.advice}\n")


def all_ok(verdicts: list[Verdict]) -> bool:
    return all(v.ok for v in verdicts)
