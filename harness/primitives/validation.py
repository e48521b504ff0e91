"""One line from a pydantic ValidationError: where (a dotted path into the document) and what.

Lab files, profiles, recipes, compiled.meta and compile requests all report their first defect this
way; a caller that knows its document better (a device's name instead of ``devices[3]``) passes
``where``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from pydantic import ValidationError

Location = Sequence[int | str]


def dotted(loc: Location) -> str:
    """``("devices", 0, "credentials", "key")`` → ``devices[0].credentials.key``; odd keys are quoted."""
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
            continue
        text = part if part.replace("_", "").replace("-", "").replace(".", "").isalnum() else repr(part)
        out += f".{text}" if out else text
    return out


def first_error(exc: ValidationError, where: Callable[[Location], str] = dotted,
                wording: Callable[[Mapping[str, Any]], str | None] | None = None) -> str:
    """``where: message (+N more)`` for the first error; pydantic's "Value error, " prefix dropped.

    ``wording`` may give a document's own words for an error (pydantic's error dict in, None to
    keep the usual message).
    """
    errors = exc.errors()
    first = errors[0]
    loc = tuple(first["loc"])
    msg = first["msg"].removeprefix("Value error, ")
    own = wording(first) if wording else None
    if own is not None:
        msg = own
    elif first["type"] == "extra_forbidden":
        msg = "unknown key"
    elif first["type"] == "missing":
        msg = "required key is missing"
    # Messages of our own validators often start with their field's name: do not say it twice.
    if loc and isinstance(loc[-1], str) and msg.startswith(f"{loc[-1]} "):
        loc = loc[:-1]
    place = where(loc)
    more = f" (+{len(errors) - 1} more)" if len(errors) > 1 else ""
    return f"{place}: {msg}{more}" if place else f"{msg}{more}"
