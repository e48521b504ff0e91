"""Shared validation for lab files and profiles: safe names and one-line errors."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, TypeVar

import yaml
from pydantic import BaseModel, ValidationError

from harness.errors import InventoryError
from harness.primitives.validation import Location, dotted, first_error

#: Names end up in container names, paths, component names and shell lines: keep them boring.
NAME_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_-]{0,62}$"

M = TypeVar("M", bound=BaseModel)


def _where(data: object) -> Callable[[Location], str]:
    """Locations in a lab document by device name: ``device 'pi-07': credentials.key``."""

    def where(loc: Location) -> str:
        if len(loc) >= 2 and loc[0] == "devices" and isinstance(loc[1], int) and isinstance(data, dict):
            devices = data.get("devices")
            name = None
            if isinstance(devices, list) and loc[1] < len(devices) and isinstance(devices[loc[1]], dict):
                name = devices[loc[1]].get("name")
            field = dotted(loc[2:]) or "(device)"
            return f"device {name!r}: {field}" if isinstance(name, str) else f"devices[{loc[1]}]: {field}"
        return dotted(loc) or "(document)"

    return where


def _wording(error: Mapping[str, Any]) -> str | None:
    if error["type"] == "string_pattern_mismatch" and error.get("ctx", {}).get("pattern") == NAME_PATTERN:
        return f"{error['input']!r} is not a safe name (letters, digits, '-', '_'; at most 63; no leading '-')"
    return None


def validation_message(exc: ValidationError, data: object) -> str:
    """The first defect of ``data`` on one line, located by device name where it is in a device."""
    return first_error(exc, _where(data), _wording)


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
