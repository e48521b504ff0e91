"""Secrets never reach a report: PEM blocks go whole, then harness.results.redact drops marker lines.

Line redaction alone keeps a key's base64 body (only its BEGIN/END lines carry a marker), and text
may arrive already line-redacted (``Record.log``), its BEGIN line turned into ``[redacted]``; a log
kept from its last 64 KiB may also start inside a block. So base64 runs next to a marker or to a
redacted line go too.
"""

from __future__ import annotations

import re
from typing import Any

from harness.results import redact

_BLOCK = re.compile(r"-----BEGIN [^-\n]*-----.*?-----END [^-\n]*-----", re.DOTALL)
_MARKER = re.compile(r"-----(BEGIN|END) [^-\n]*-----")
_B64_LINE = re.compile(r"[A-Za-z0-9+/]{16,}={0,2}")  # a PEM body line (64 wide); a short last line follows
_B64_TAIL = re.compile(r"[A-Za-z0-9+/]*={0,2}")
PEM_REDACTED = "[redacted PEM block]"
_REDACTED = ("[redacted]", PEM_REDACTED)


def scrub(text: str) -> str:
    """``text`` without key/certificate material and without lines that name a secret."""
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
    return redact("\n".join(out))


def scrub_value(value: Any) -> Any:
    """``value`` (JSON-like: facts, diagnoses) with every string in it scrubbed."""
    if isinstance(value, str):
        return scrub(value)
    if isinstance(value, dict):
        return {k: scrub_value(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [scrub_value(v) for v in value]
    return value
