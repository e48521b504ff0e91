"""Semantic versions and NPM-style version requirements, as recipes' VersionRequirement uses them.

Greengrass parses requirements with NPM semantics (">=1.0.0 <2.0.0", "^1.2", "~1.2.3", "1.x", "*",
"a - b", "||"); this module does the same with the standard library only.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from simulators.greengrass.errors import VersionError

# fullmatch and ASCII: "1.0.0\n" (which `$` accepts) and non-ASCII digits are not versions.
_SEMVER = re.compile(
    r"(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)"
    r"(?:-((?:0|[1-9]\d*|\d*[A-Za-z-][0-9A-Za-z-]*)(?:\.(?:0|[1-9]\d*|\d*[A-Za-z-][0-9A-Za-z-]*))*))?"
    r"(?:\+([0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*))?", re.ASCII)
_PARTIAL = re.compile(r"v?(\d+|[xX*])(?:\.(\d+|[xX*]))?(?:\.(\d+|[xX*]))?(?:-([0-9A-Za-z.-]+))?(?:\+[0-9A-Za-z.-]+)?",
                      re.ASCII)
_OPS = (">=", "<=", ">", "<", "=", "^", "~")


@dataclass(frozen=True, order=False)
class Version:
    major: int
    minor: int
    patch: int
    pre: tuple[int | str, ...] = ()
    text: str = ""

    @classmethod
    def parse(cls, text: object) -> Version:
        if not isinstance(text, str) or len(text) > 64:
            raise VersionError(f"Component version {text!r} is not a valid semantic version (MAJOR.MINOR.PATCH)")
        m = _SEMVER.fullmatch(text)
        if not m:
            raise VersionError(f"Component version '{text}' is not a valid semantic version (MAJOR.MINOR.PATCH)")
        pre = tuple(int(p) if p.isdigit() else p for p in m.group(4).split(".")) if m.group(4) else ()
        return cls(int(m.group(1)), int(m.group(2)), int(m.group(3)), pre, text)

    def key(self) -> tuple:
        # a release sorts after its prereleases; numeric identifiers sort before alphanumeric ones
        pre = tuple((0, p, "") if isinstance(p, int) else (1, 0, p) for p in self.pre)
        return (self.major, self.minor, self.patch, 1 if not self.pre else 0, pre)

    def __lt__(self, other: Version) -> bool:
        return self.key() < other.key()

    def __le__(self, other: Version) -> bool:
        return self.key() <= other.key()

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Version) and self.key() == other.key()

    def __hash__(self) -> int:
        return hash(self.key())

    def __str__(self) -> str:
        return self.text or f"{self.major}.{self.minor}.{self.patch}"


def _bound(op: str, partial: str) -> list[tuple[str, Version]]:
    """Expand one comparator (with x-ranges, ^ and ~) into plain (op, version) bounds."""
    m = _PARTIAL.fullmatch(partial)
    if not m:
        raise VersionError(f"Version requirement term '{op}{partial}' is not valid")
    parts = [None if p is None or p in "xX*" else int(p) for p in m.group(1, 2, 3)]
    pre = m.group(4)
    major, minor, patch = parts
    if major is None:
        return [] if op in ("", "=", ">=", "<=", "^", "~") else [("<", Version(0, 0, 0))]

    def v(a: int, b: int, c: int, p: str | None = None) -> Version:
        return Version.parse(f"{a}.{b}.{c}" + (f"-{p}" if p else ""))

    lo = v(major, minor or 0, patch or 0, pre if patch is not None else None)
    if op in ("", "="):
        if patch is not None:
            return [("=", lo)]
        hi = v(major + 1, 0, 0) if minor is None else v(major, minor + 1, 0)
        return [(">=", lo), ("<", hi)]
    if op == "^":
        if major > 0 or minor is None:
            hi = v(major + 1, 0, 0)
        elif minor > 0 or patch is None:
            hi = v(0, minor + 1, 0)
        else:
            hi = v(0, 0, patch + 1)
        return [(">=", lo), ("<", hi)]
    if op == "~":
        hi = v(major + 1, 0, 0) if minor is None else v(major, minor + 1, 0)
        return [(">=", lo), ("<", hi)]
    if op in (">", "<="):
        if patch is None:  # >1.2 means >=1.3.0 ; <=1.2 means <1.3.0
            nxt = v(major + 1, 0, 0) if minor is None else v(major, minor + 1, 0)
            return [(">=" if op == ">" else "<", nxt)]
        return [(op, lo)]
    return [(op, lo)]


@dataclass(frozen=True)
class Requirement:
    """An OR of AND-sets of (op, version) bounds; an empty AND-set matches every version."""

    text: str
    alternatives: tuple[tuple[tuple[str, Version], ...], ...]

    @classmethod
    def parse(cls, text: object) -> Requirement:
        if not isinstance(text, str) or len(text) > 256:
            raise VersionError(f"Version requirement {text!r} is not valid")
        alts = []
        for alt in text.split("||"):
            alt = alt.strip()
            bounds: list[tuple[str, Version]] = []
            hyphen = re.fullmatch(r"(\S+)\s+-\s+(\S+)", alt)
            if hyphen:
                bounds += [b for b in _bound(">=", hyphen.group(1))]
                bounds += _bound("<=", hyphen.group(2))
            else:
                alt = re.sub(r"(>=|<=|>|<|=|\^|~)\s+", r"\1", alt)
                for term in alt.split():
                    op = next((o for o in _OPS if term.startswith(o)), "")
                    bounds += _bound(op, term[len(op):])
            alts.append(tuple(bounds))
        return cls(text, tuple(alts))

    def allows(self, version: Version) -> bool:
        return any(all(_check(op, version, bound) for op, bound in alt) for alt in self.alternatives)

    def __str__(self) -> str:
        return self.text


def _check(op: str, version: Version, bound: Version) -> bool:
    a, b = version.key(), bound.key()
    return {"=": a == b, ">": a > b, ">=": a >= b, "<": a < b, "<=": a <= b}[op]
