"""Secrets never reach a report: PEM blocks go whole, then harness.results.redact drops marker lines.

Line redaction alone would keep a private key's base64 body (only its BEGIN/END lines carry a
marker), and a log kept from its last 64 KiB may start or end inside a block.
"""

from __future__ import annotations

import re
from typing import Any

from harness.results import redact

_BLOCK = re.compile(r"-----BEGIN [^-\n]*-----.*?-----END [^-\n]*-----", re.DOTALL)
_OPEN = re.compile(r"-----BEGIN [^-\n]*-----.*\Z", re.DOTALL)
_CLOSE = re.compile(r"\A.*?-----END [^-\n]*-----", re.DOTALL)
PEM_REDACTED = "[redacted PEM block]"


def scrub(text: str) -> str:
    """``text`` without key/certificate blocks and without lines that name a secret."""
    text = _BLOCK.sub(PEM_REDACTED, text)
    text = _OPEN.sub(PEM_REDACTED, text)
    text = _CLOSE.sub(PEM_REDACTED, text)
    return redact(text)


def scrub_value(value: Any) -> Any:
    """``value`` (JSON-like: facts, diagnoses) with every string in it scrubbed."""
    if isinstance(value, str):
        return scrub(value)
    if isinstance(value, dict):
        return {k: scrub_value(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [scrub_value(v) for v in value]
    return value
