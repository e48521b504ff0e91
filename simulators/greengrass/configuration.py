"""Component configuration across deployments: defaults, carried-over values, RESET then MERGE.

Same order as Greengrass: a component keeps the configuration it had (new default keys are added),
then the RESET pointers go back to the recipe default, then MERGE is merged in (maps merge, the rest
replaces).
"""

from __future__ import annotations

import copy
from typing import Any

from simulators.greengrass.variables import pointer_get


def deep_merge(base: dict[str, Any], update: dict[str, Any]) -> dict[str, Any]:
    out = copy.deepcopy(base)
    for key, value in update.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = deep_merge(out[key], value)
        else:
            out[key] = copy.deepcopy(value)
    return out


def _reset(config: dict[str, Any], default: dict[str, Any], pointer: str) -> dict[str, Any]:
    if pointer in ("", "/"):
        return copy.deepcopy(default)
    keys = [k.replace("~1", "/").replace("~0", "~") for k in pointer.lstrip("/").split("/")]
    found, value = pointer_get(default, pointer)
    out = copy.deepcopy(config)
    cur: Any = out
    for key in keys[:-1]:
        if not isinstance(cur, dict):
            return out
        if key not in cur or not isinstance(cur[key], dict):
            if not found:
                return out
            cur[key] = {}
        cur = cur[key]
    if isinstance(cur, dict):
        if found:
            cur[keys[-1]] = copy.deepcopy(value)
        else:
            cur.pop(keys[-1], None)
    return out


def next_configuration(previous: dict[str, Any] | None, default: dict[str, Any],
                       update: dict[str, Any] | None) -> dict[str, Any]:
    config = deep_merge(default, previous) if previous is not None else copy.deepcopy(default)
    if update:
        for pointer in update.get("RESET") or []:
            config = _reset(config, default, pointer)
        config = deep_merge(config, update.get("MERGE") or {})
    return config
