"""Shared validation for lab files and profiles: safe names and one-line errors."""

from __future__ import annotations

import re
from pathlib import Path
from typing import TypeVar

import yaml
from pydantic import BaseModel, ValidationError

from harness.errors import InventoryError

#: Names end up in container names, paths, component names and shell lines: keep them boring.
NAME_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_-]{0,62}$"

M = TypeVar("M", bound=BaseModel)


def _where(loc: tuple[object, ...], data: object) -> str:
    """'device 'pi-07': credentials.key' from a pydantic error location into the lab document."""
    # A key is printed as written unless it is odd (spaces, newlines): then quoted, so the error stays one line.
    parts = [p if isinstance(p, str) and re.fullmatch(r"[\w.-]+", p) else repr(p) if isinstance(p, str) else str(p)
             for p in loc]
    if len(loc) >= 2 and loc[0] == "devices" and isinstance(loc[1], int) and isinstance(data, dict):
        devices = data.get("devices")
        name = None
        if isinstance(devices, list) and loc[1] < len(devices) and isinstance(devices[loc[1]], dict):
            name = devices[loc[1]].get("name")
        field = ".".join(parts[2:]) or "(device)"
        return f"device {name!r}: {field}" if isinstance(name, str) else f"devices[{loc[1]}]: {field}"
    return ".".join(parts) or "(document)"


def validation_message(exc: ValidationError, data: object) -> str:
    first = exc.errors()[0]
    msg = first["msg"].removeprefix("Value error, ")
    if first["type"] == "string_pattern_mismatch" and first["ctx"].get("pattern") == NAME_PATTERN:
        msg = f"{first['input']!r} is not a safe name (letters, digits, '-', '_'; at most 63; no leading '-')"
    elif first["type"] == "extra_forbidden":
        msg = "unknown key"
    elif first["type"] == "missing":
        msg = "required key is missing"
    more = f" (+{exc.error_count() - 1} more)" if exc.error_count() > 1 else ""
    return f"{_where(tuple(first['loc']), data)}: {msg}{more}"


def load_yaml_model(model: type[M], source: Path | str, text: str) -> M:
    """Parse YAML ``text`` into ``model``; any defect is one InventoryError line naming ``source``."""
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        at = f" at line {mark.line + 1}" if mark is not None else ""
        raise InventoryError(f"{source}: not valid YAML{at}: {getattr(exc, 'problem', exc)}") from None
    except (ValueError, TypeError, RecursionError) as exc:  # e.g. out-of-range timestamps, deep nesting
        raise InventoryError(f"{source}: not valid YAML: {exc}") from None
    if not isinstance(data, dict):
        raise InventoryError(f"{source}: expected a mapping at the top, got {type(data).__name__}")
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise InventoryError(f"{source}: {validation_message(exc, data)}") from None
