"""Golden transcripts of greengrass-cli output, transcribed from the real CLI's format strings.

Each ``greengrass-cli/<name>.txt`` starts with ``# source:`` lines citing the repository, release, file and
lines the text comes from, then ``# command:`` and ``# stream:``; the rest is exactly what the CLI prints,
with ``{placeholder}`` for what varies (``{id}``, ``{created}``, ``{name_2}`` for a second block …).
``render`` fills them in (the client's unit tests parse the result); ``match`` reads them back out of real
output (the emulator's host and lab tests), so both sides are held to the same text.
"""

from __future__ import annotations

import re
from pathlib import Path

DIR = Path(__file__).parent / "greengrass-cli"
_PLACEHOLDER = re.compile(r"\{([a-z]+)(?:_\d+)?\}")
#: What each kind of placeholder may hold in real output.
SHAPES = {
    "id": r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}",
    "created": r"\d{2}-\d{2}-\d{4} \d{2}:\d{2}:\d{2} UTC",
    "status": r"QUEUED|IN_PROGRESS|SUCCEEDED|FAILED|CANCELED",
    "detailed": r"FAILED_NO_STATE_CHANGE|FAILED_ROLLBACK_NOT_REQUESTED|FAILED_ROLLBACK_COMPLETE|"
                r"FAILED_UNABLE_TO_ROLLBACK|REJECTED",
    "stack": r"[A-Z_]+(?:, [A-Z_]+)*",
    "types": r"[A-Z_]+(?:, [A-Z_]+)*",
    "cause": r"[^\n]+",
    "name": r"[A-Za-z0-9._-]+",
    "version": r"[0-9A-Za-z.+-]+|null",
    "state": r"NEW|INSTALLED|STARTING|RUNNING|STOPPING|ERRORED|BROKEN|FINISHED",
    "configuration": r"\{[^\n]*\}|null",
}


def names() -> list[str]:
    return sorted(p.stem for p in DIR.glob("*.txt"))


def header(name: str) -> list[str]:
    """The ``# ...`` lines: sources, command, stream."""
    return [line for line in (DIR / f"{name}.txt").read_text().splitlines() if line.startswith("# ")]


def template(name: str) -> str:
    """The transcript's body: the CLI's text with placeholders, newline-terminated."""
    lines = (DIR / f"{name}.txt").read_text().splitlines(keepends=True)
    return "".join(line for line in lines if not line.startswith("# "))


def placeholders(name: str) -> list[str]:
    return list(dict.fromkeys(m.group(0)[1:-1] for m in _PLACEHOLDER.finditer(template(name))))


def render(transcript: str, **values: str) -> str:
    """The transcript with every placeholder filled in (a missing value is a KeyError)."""
    return _PLACEHOLDER.sub(lambda m: values[m.group(0)[1:-1]], template(transcript))


def pattern(name: str) -> re.Pattern[str]:
    body, out, pos = template(name), "", 0
    for m in _PLACEHOLDER.finditer(body):
        out += re.escape(body[pos:m.start()]) + f"(?P<{m.group(0)[1:-1]}>{SHAPES[m.group(1)]})"
        pos = m.end()
    return re.compile(out + re.escape(body[pos:]))


def match(name: str, text: str) -> dict[str, str] | None:
    """The placeholder values if ``text`` is exactly the transcript's shape, else None."""
    found = pattern(name).fullmatch(text)
    return found.groupdict() if found else None
