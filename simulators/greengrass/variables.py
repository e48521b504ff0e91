"""Recipe variables ({artifacts:path}, {configuration:/ptr}, {Dep:work:path}, …) interpolated into scripts.

Unknown variables are left as written, as the nucleus does, so a typo shows up in the component log.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

_VAR = re.compile(r"\{(?:([A-Za-z0-9][A-Za-z0-9._-]*):)?(artifacts|work|configuration|kernel|iot):([^{}]*)\}")


@dataclass(frozen=True)
class ComponentContext:
    """What a component's variables resolve against."""

    name: str
    version: str
    configuration: dict[str, Any]


def pointer_get(doc: Any, pointer: str) -> tuple[bool, Any]:
    """RFC 6901 JSON pointer lookup: (found, value)."""
    if pointer == "":
        return True, doc
    if not pointer.startswith("/"):
        return False, None
    cur = doc
    for raw in pointer[1:].split("/"):
        key = raw.replace("~1", "/").replace("~0", "~")
        if isinstance(cur, dict) and key in cur:
            cur = cur[key]
        elif isinstance(cur, list) and key.isdigit() and int(key) < len(cur):
            cur = cur[int(key)]
        else:
            return False, None
    return True, cur


def interpolate(text: str, *, root: Path, thing_name: str, me: ComponentContext,
                deps: dict[str, ComponentContext]) -> str:
    def replace(m: re.Match[str]) -> str:
        owner, namespace, key = m.group(1), m.group(2), m.group(3)
        if owner is None:
            ctx = me
        elif owner in deps:
            ctx = deps[owner]
        else:
            return m.group(0)
        if namespace == "artifacts" and key == "path":
            return str(root / "packages" / "artifacts" / ctx.name / ctx.version)
        if namespace == "artifacts" and key == "decompressedPath":
            return str(root / "packages" / "artifacts-unarchived" / ctx.name / ctx.version)
        if namespace == "work" and key == "path":
            return str(root / "work" / ctx.name)
        if namespace == "configuration":
            found, value = pointer_get(ctx.configuration, key)
            if not found:
                return m.group(0)
            return value if isinstance(value, str) else json.dumps(value)
        if owner is None and namespace == "kernel" and key == "rootPath":
            return str(root)
        if owner is None and namespace == "iot" and key == "thingName":
            return thing_name
        return m.group(0)

    return _VAR.sub(replace, text)
