"""The core's platform and manifest selection: which manifest of a recipe applies to this core.

Matching follows the nucleus's PlatformResolver: every key of a manifest's Platform must match the
core's value exactly, or be "*", or be a /regex/ that matches the whole value; first match wins.
"""

from __future__ import annotations

import platform as _platform
import re
from typing import Any

from simulators.greengrass.errors import NoMatchingPlatform
from simulators.greengrass.recipe import Manifest, Recipe, Step, parse_lifecycle

_ARCH = {"x86_64": "amd64", "amd64": "amd64", "aarch64": "aarch64", "arm64": "aarch64",
         "i386": "x86", "i686": "x86", "x86": "x86"}


def current_platform(override: dict[str, Any] | None = None) -> dict[str, str]:
    """os/architecture(/architecture.detail) of this machine, with the nucleus's platformOverride applied."""
    machine = _platform.machine().lower()
    plat = {"os": "linux", "architecture": _ARCH.get(machine, "arm" if machine.startswith("arm") else machine)}
    if plat["architecture"] == "arm":
        m = re.match(r"armv(\d+)", machine)
        plat["architecture.detail"] = f"armv{m.group(1)}" if m else machine
    plat.update({str(k): str(v) for k, v in (override or {}).items()})
    return plat


def describe(plat: dict[str, str]) -> str:
    """Java-map style, as the nucleus prints a platform in its error messages."""
    keys = ["os", "architecture"] + sorted(k for k in plat if k not in ("os", "architecture"))
    return "{" + ", ".join(f"{k}={plat[k]}" for k in keys if k in plat) + "}"


def _value_matches(wanted: str, actual: str | None) -> bool:
    if wanted in ("*", "all", "any"):
        return True
    if actual is None:
        return False
    if len(wanted) > 1 and wanted.startswith("/") and wanted.endswith("/"):
        try:
            return re.fullmatch(wanted[1:-1], actual) is not None
        except re.error:
            return False
    return wanted == actual


def manifest_matches(manifest: Manifest, plat: dict[str, str]) -> bool:
    return all(_value_matches(v, plat.get(k)) for k, v in manifest.platform.items())


def select_manifest(recipe: Recipe, plat: dict[str, str]) -> Manifest:
    for manifest in recipe.manifests:
        if manifest_matches(manifest, plat):
            return manifest
    raise NoMatchingPlatform(
        f"Failed to find usable recipe for current platform: {describe(plat)}, for package: "
        f"'{recipe.ident}' in the local package store")


def resolved_lifecycle(recipe: Recipe, manifest: Manifest) -> tuple[dict[str, Step], dict[str, str]]:
    """The manifest's own Lifecycle, else the recipe Lifecycle filtered by the manifest's Selections."""
    if manifest.lifecycle:
        return parse_lifecycle(manifest.lifecycle)
    lifecycle = recipe.lifecycle
    selectors = {s for m in recipe.manifests for s in m.selections} | {"all"}
    if lifecycle and set(lifecycle) <= selectors:
        chosen = next((s for s in (*manifest.selections, "all") if s in lifecycle), None)
        lifecycle = lifecycle[chosen] if chosen and isinstance(lifecycle[chosen], dict) else {}
    return parse_lifecycle(lifecycle)
