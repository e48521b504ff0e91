"""Recipe lifecycle keys: the documented step names and step keys, read case-insensitively, spelled back canonically.

A manifest's ``Lifecycle`` holds ``Setenv``, ``Bootstrap``, ``Install``, ``Run``, ``Startup``,
``Shutdown``, ``Recover``; a step is a script or ``{Script, RequiresPrivilege, Skipif, Timeout,
Setenv}``. The recipe-level ``Lifecycle`` may also nest lower-case selection keys (``all``, ``key1``),
at the top or inside ``Script`` (component recipe reference, "global lifecycle").
"""

from __future__ import annotations

import re
from typing import Any

_ENV_NAME_RE = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,254}", re.ASCII)
_SELECTION_RE = re.compile(r"[a-z][a-z0-9_-]{0,63}", re.ASCII)
_SKIPIF_RE = re.compile(r"(onpath|exists)[ \t]+\S.*", re.ASCII | re.DOTALL)
_STEPS = {s.lower(): s for s in ("Setenv", "Bootstrap", "Install", "Run", "Startup", "Shutdown", "Recover")}
_STEP_KEYS = {s.lower(): s for s in ("Script", "RequiresPrivilege", "Skipif", "Timeout", "Setenv")}


def normalize_lifecycle(value: Any, where: str, *, selections: bool, depth: int = 0) -> dict[str, Any]:
    """Canonical lifecycle: step names spelled as documented; lower-case selection keys allowed globally."""
    if not isinstance(value, dict):
        raise ValueError(f"{where} must be a mapping of lifecycle steps (Install, Run, ...)")
    if depth > 8:
        raise ValueError(f"{where}: selection keys nested too deep")
    out: dict[str, Any] = {}
    for key, step in value.items():
        if not isinstance(key, str):
            raise ValueError(f"{where}: key {key!r} is not a string")
        canon = _STEPS.get(key.lower())
        if (canon or key) in out:
            raise ValueError(f"{where}.{canon or key} is given twice (keys that differ only in case)")
        if canon == "Setenv":
            out[canon] = _env(step, f"{where}.Setenv")
        elif canon:
            out[canon] = _step(step, f"{where}.{canon}", selections=selections)
        elif selections and _SELECTION_RE.fullmatch(key):
            out[key] = normalize_lifecycle(step, f"{where}.{key}", selections=True, depth=depth + 1)
        else:
            raise ValueError(f"{where}: unknown lifecycle step {key!r} "
                             "(expected Setenv, Bootstrap, Install, Run, Startup, Shutdown or Recover)")
    if "Run" in out and "Startup" in out:
        raise ValueError(f"{where}: define only one of Run or Startup")
    return out


def _step(step: Any, where: str, *, selections: bool) -> Any:
    if isinstance(step, str):
        if not step.strip():
            raise ValueError(f"{where} is an empty script")
        return step
    if not isinstance(step, dict):
        raise ValueError(f"{where} must be a script or a mapping with Script")
    out: dict[str, Any] = {}
    for key, val in step.items():
        canon = _STEP_KEYS.get(key.lower()) if isinstance(key, str) else None
        if canon is None:
            raise ValueError(f"{where}: unknown key {key!r} (expected Script, RequiresPrivilege, Skipif, "
                             "Timeout or Setenv)")
        if canon in out:
            raise ValueError(f"{where}.{canon} is given twice (keys that differ only in case)")
        out[canon] = _step_value(canon, val, f"{where}.{canon}", selections)
    if "Script" not in out:
        raise ValueError(f"{where} has no Script")
    return out


def _step_value(key: str, val: Any, where: str, selections: bool) -> Any:
    if key == "Script":
        if isinstance(val, str) and val.strip():
            return val
        if selections and isinstance(val, dict) and val and all(
                isinstance(k, str) and _SELECTION_RE.fullmatch(k) and isinstance(v, str) for k, v in val.items()):
            return dict(val)
        raise ValueError(f"{where} must be a non-empty script")
    if key == "RequiresPrivilege":
        if isinstance(val, bool):
            return val
        if isinstance(val, str) and val.lower() in ("true", "false"):
            return val.lower() == "true"
        raise ValueError(f"{where} must be true or false")
    if key == "Skipif":
        if isinstance(val, str) and _SKIPIF_RE.fullmatch(val.strip()):
            return val.strip()
        raise ValueError(f"{where} must be 'onpath <runnable>' or 'exists <file>'")
    if key == "Timeout":
        if isinstance(val, str) and val.isascii() and val.isdigit():
            val = int(val)
        if isinstance(val, int) and not isinstance(val, bool) and 0 < val <= 10**7:
            return val
        raise ValueError(f"{where} must be a positive number of seconds")
    return _env(val, where)


def _env(value: Any, where: str) -> dict[str, str]:
    if not isinstance(value, dict):
        raise ValueError(f"{where} must be a mapping of environment variables")
    for name, val in value.items():
        if not isinstance(name, str) or not _ENV_NAME_RE.fullmatch(name):
            raise ValueError(f"{where}: {name!r} is not an environment variable name")
        if not isinstance(val, str):
            raise ValueError(f"{where}.{name} must be a string (quote it)")
    return dict(value)
