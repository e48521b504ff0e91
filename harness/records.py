"""What a scenario test leaves for the reports: one record per device × scenario.

A test adds facts through the ``hil_record`` fixture; they travel on the pytest item's
``user_properties`` (so they survive pytest-xdist) as one ``("hil", {...})`` entry. harness.report
turns the test's outcome plus that entry into a line of results.json and a cell of the HTML matrix.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any

KEY = "hil"
SECRET_MARKERS = ("PRIVATE KEY", "BEGIN CERTIFICATE", "password", "aws_secret_access_key")


def _redact_lines(text: str) -> str:
    """Drop lines that name key or certificate material or a password."""
    return "\n".join(line if not any(m.lower() in line.lower() for m in SECRET_MARKERS) else "[redacted]"
                     for line in text.splitlines())


_BLOCK = re.compile(r"-----BEGIN [^-\n]*-----.*?-----END [^-\n]*-----", re.DOTALL)
_MARKER = re.compile(r"-----(BEGIN|END) [^-\n]*-----")
_B64_LINE = re.compile(r"[A-Za-z0-9+/]{16,}={0,2}")  # a PEM body line (64 wide); a short last line follows
_B64_TAIL = re.compile(r"[A-Za-z0-9+/]*={0,2}")
PEM_REDACTED = "[redacted PEM block]"
_REDACTED = ("[redacted]", PEM_REDACTED)


def redact(text: str) -> str:
    """``text`` without key/certificate material and without lines that name a secret.

    PEM blocks go whole (line redaction alone would keep a key's base64 body); a log cut to its last
    64 KiB may start inside a block, so base64 runs next to a marker or a redacted line go too.
    """
    out: list[str] = []
    after_marker = in_body = False
    for line in _BLOCK.sub(PEM_REDACTED, text).splitlines():
        bare = line.strip()
        if _MARKER.search(line):
            while out and (_B64_LINE.fullmatch(out[-1].strip()) or (
                    len(out) > 1 and out[-1].strip() and _B64_TAIL.fullmatch(out[-1].strip())
                    and _B64_LINE.fullmatch(out[-2].strip()))):
                out.pop()  # a block cut at its start: the body before END
            out.append(PEM_REDACTED)
            after_marker, in_body = True, False
        elif after_marker and (_B64_LINE.fullmatch(bare) or (in_body and bare and _B64_TAIL.fullmatch(bare))):
            in_body = True
        else:
            out.append(line)
            after_marker, in_body = bare in _REDACTED, False
    return _redact_lines("\n".join(out))


class Record:
    """The facts of one device × scenario; every field is JSON-serialisable."""

    def __init__(self, user_properties: list[tuple[str, Any]]) -> None:
        self.data: dict[str, Any] = {"device": None, "scenario": None, "emulated": None, "stats": {},
                                     "budgets": {}, "diagnosis": None, "logs": {}, "facts": {}}
        user_properties.append((KEY, self.data))

    def device(self, name: str, *, emulated: bool) -> None:
        self.data["device"], self.data["emulated"] = name, emulated

    def scenario(self, name: str) -> None:
        self.data["scenario"] = name

    def stats(self, runtime: str, figures: Mapping[str, Any]) -> None:
        """Latency/memory figures of one runtime (count, p50, p90, p99, peak_rss_mb, samples ...)."""
        self.data["stats"][runtime] = dict(figures)

    def budgets(self, budgets: Mapping[str, float]) -> None:
        self.data["budgets"] = dict(budgets)

    def diagnosis(self, diagnosis: Mapping[str, Any]) -> None:
        """``{class, summary, evidence, advice}`` from harness.diagnose."""
        self.data["diagnosis"] = dict(diagnosis)

    def log(self, name: str, text: str) -> None:
        """A device log (greengrass.log, a component log); redacted, the last 64 KiB kept."""
        self.data["logs"][name] = redact(text[-65536:])

    def fact(self, name: str, value: Any) -> None:
        self.data["facts"][name] = value


def records_of(user_properties: list[tuple[str, Any]]) -> list[dict[str, Any]]:
    """The record dicts among a test report's user_properties."""
    return [value for key, value in user_properties if key == KEY]



def device_of(nodeid: str, devices: Iterable[str]) -> str | None:
    """The lab device named in a test id's parameters, where only the id is known (the xdist scheduler,
    a report phase without its item): ``test_r[install-ml-c5-emu]`` -> ``ml-c5-emu``.

    pytest joins parameter ids with ``-`` and device names contain ``-`` too, so a device counts only as
    a whole ``-``-separated run of the parameters; of several, the longest name wins.
    """
    params = nodeid[nodeid.rfind("[") + 1:-1] if nodeid.endswith("]") and "[" in nodeid else ""
    found = [d for d in devices if d and f"-{d}-" in f"-{params}-"]
    return max(found, key=len) if found else None
