"""What a scenario test leaves for the reports: one record per device × scenario.

A test adds facts through the ``hil_record`` fixture; they travel on the pytest item's
``user_properties`` (so they survive pytest-xdist) as one ``("hil", {...})`` entry. harness.report
turns the test's outcome plus that entry into a line of results.json and a cell of the HTML matrix.
"""

from __future__ import annotations

import json
import os
import re
import shlex
from collections.abc import Iterable, Mapping
from typing import Any

KEY = "hil"
SECRET_MARKERS = ("PRIVATE KEY", "BEGIN CERTIFICATE", "password", "aws_secret_access_key")
REDACTED = "[redacted]"

#: Secrets by shape, each with the part to keep: a command's password option, an HTTP credential, an
#: access key id, a ``name=value`` whose name says secret. The value goes, the words around it stay.
_SHAPES = (
    re.compile(r"(\bsshpass\b(?:\s+-[a-oq-zA-Z]\S*)*\s+-p\s*)\S+"),                     # sshpass -p SECRET
    re.compile(r"(\b(?:mysql|mysqldump|mysqladmin|mariadb)\b[^\n]*?\s-p)[^\s-]\S*"),    # mysql -pSECRET
    re.compile(r"(?i)(\b(?:proxy-)?authorization\b\"?\s*[:=]\s*\"?(?:basic|bearer|digest|token|aws4-hmac-sha256)?"
               r"\s*)[^\s\"']+(?:[^\S\n]*,[^\S\n]*\w+=[^\s,\"']+)*"),                        # Authorization: Basic …
    re.compile(r"(?i)(\bbearer\s+)(?=\S{6})\S+"),                                          # … Bearer TOKEN
    re.compile(r"\b()(?:AKIA|ASIA|AGPA|AIDA|AROA)[A-Z0-9]{16}\b"),                        # AWS access key id
    re.compile(r"(?i)(--?[\w-]*(?:password|passwd|passphrase|token|secret|api[_-]?key)[\w-]*(?:=|\s+))"
               r"(?:\"[^\"\n]*\"|'[^'\n]*'|\S+)"),                                          # --password=x, --token x
    re.compile(r"(?i)(\b[\w.-]*(?:password|passwd|token|secret|api_?key|access_?key)[\w.-]*\"?\s*[=:]\s*)"
               r"(?:\"[^\"\n]*\"|'[^'\n]*'|[^\s&;,]+)"),                                     # token=…, "secret": "…"
)
#: Environment variables whose values are secrets (the lab file's ``password_env`` names).
_SECRET_ENVS: set[str] = set()
#: A value shorter than this is not searched for: it would blank unrelated words all over a report.
MIN_SECRET_LENGTH = 4


def secret_env(name: str) -> None:
    """Redact the value of environment variable ``name`` wherever it appears, whatever surrounds it."""
    _SECRET_ENVS.add(name)


def _redact_values(text: str) -> str:
    values = sorted({v for n in _SECRET_ENVS if len(v := os.environ.get(n) or "") >= MIN_SECRET_LENGTH},
                    key=len, reverse=True)
    for value in values:
        text = text.replace(value, REDACTED)
    for shape in _SHAPES:
        text = shape.sub(lambda m: m[1] + REDACTED, text)
    return text


def _redact_lines(text: str) -> str:
    """Drop lines that name key or certificate material or a password."""
    return "\n".join(line if not any(m.lower() in line.lower() for m in SECRET_MARKERS) else REDACTED
                     for line in text.splitlines())


_BLOCK = re.compile(r"-----BEGIN [^-\n]*-----.*?-----END [^-\n]*-----", re.DOTALL)
_MARKER = re.compile(r"-----(BEGIN|END) [^-\n]*-----")
_B64_LINE = re.compile(r"[A-Za-z0-9+/]{16,}={0,2}")  # a PEM body line (64 wide); a short last line follows
_B64_TAIL = re.compile(r"[A-Za-z0-9+/]*={0,2}")
PEM_REDACTED = "[redacted PEM block]"
_REDACTED = (REDACTED, PEM_REDACTED)


def redact(text: str) -> str:
    """``text`` without key/certificate material, secret-shaped values, the lab's password values and
    lines that name a secret.

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
    return _redact_lines(_redact_values("\n".join(out)))


def redact_argv(argv: Iterable[str]) -> list[str]:
    """A command line's words with secrets redacted as in the joined line (``-p SECRET`` spans two words)."""
    try:
        return shlex.split(redact(shlex.join(argv)))
    except ValueError:  # a redaction split a quoted word: keep nothing rather than a fragment
        return [REDACTED]


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

    def not_measured(self, runtime: str, reason: str) -> None:
        """A runtime that does not apply here, or is missing, and why: the report shows the reason in its row."""
        self.data["stats"][runtime] = {"not_measured": reason}

    def budgets(self, budgets: Mapping[str, float]) -> None:
        self.data["budgets"] = dict(budgets)

    def diagnosis(self, diagnosis: Mapping[str, Any]) -> None:
        """``{class, summary, evidence, advice}`` from harness.diagnose."""
        self.data["diagnosis"] = _plain(dict(diagnosis))

    def log(self, name: str, text: str) -> None:
        """A device log (greengrass.log, a component log); redacted, the last 64 KiB kept."""
        self.data["logs"][name] = redact(text[-65536:])

    def fact(self, name: str, value: Any) -> None:
        self.data["facts"][name] = _plain(value)


def _plain(value: Any) -> Any:
    """``value`` as plain JSON types: xdist's wire format refuses str subclasses such as FailureClass."""
    return json.loads(json.dumps(value, default=str))


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
