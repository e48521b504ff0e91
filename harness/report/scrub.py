"""Secrets never reach a report: every string of a record goes through harness.records.redact."""

from __future__ import annotations

from typing import Any

from harness.records import redact


def scrub_value(value: Any) -> Any:
    """``value`` (JSON-like: facts, diagnoses) with every string in it redacted."""
    if isinstance(value, str):
        return redact(value)
    if isinstance(value, dict):
        return {k: scrub_value(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [scrub_value(v) for v in value]
    return value
