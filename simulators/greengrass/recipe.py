"""Component recipes (RecipeFormatVersion 2020-01-25, YAML or JSON) parsed into typed, validated objects.

Anything that is not a valid recipe raises RecipeError (or VersionError) with a one-line reason; the
parser never lets a YAML/JSON/type error escape (fuzzed in tests).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any

import yaml

from simulators.greengrass.errors import RecipeError, VersionError
from simulators.greengrass.semver import Requirement, Version

FORMAT_VERSION = "2020-01-25"
MAX_RECIPE_BYTES = 1 << 20
NAME_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,127}", re.ASCII)  # fullmatch: `$` would take "name\n"
ENV_KEY_RE = re.compile(r"[A-Za-z_][A-Za-z0-9_]*", re.ASCII)
STEP_NAMES = ("Bootstrap", "Install", "Startup", "Run", "Shutdown", "Recover")
# Greengrass defaults (component recipe reference); Run has no timeout unless one is given
DEFAULT_TIMEOUTS = {"Bootstrap": 120.0, "Install": 120.0, "Startup": 120.0, "Shutdown": 15.0, "Recover": 60.0}


class _Loader(yaml.SafeLoader):
    """SafeLoader without anchors/aliases: an alias bomb must not expand when the recipe is walked."""

    def compose_node(self, parent, index):  # type: ignore[no-untyped-def]
        if self.check_event(yaml.AliasEvent):
            raise RecipeError("Recipe uses YAML aliases, which are not supported")
        return super().compose_node(parent, index)


@dataclass(frozen=True)
class Step:
    script: str
    timeout: float | None
    setenv: dict[str, str] = field(default_factory=dict)
    skipif: str | None = None
    requires_privilege: bool = False


@dataclass(frozen=True)
class ComponentArtifact:
    uri: str
    digest: str | None
    algorithm: str
    unarchive: str
    read: str
    execute: str

    @property
    def filename(self) -> str:
        return self.uri.rstrip("/").rsplit("/", 1)[-1]


@dataclass(frozen=True)
class Dependency:
    requirement: Requirement
    kind: str  # HARD or SOFT


@dataclass(frozen=True)
class Manifest:
    platform: dict[str, str]
    lifecycle: dict[str, Any] | None
    artifacts: tuple[ComponentArtifact, ...]
    selections: tuple[str, ...]


@dataclass(frozen=True)
class Recipe:
    name: str
    version: Version
    description: str
    publisher: str
    dependencies: dict[str, Dependency]
    default_config: dict[str, Any]
    manifests: tuple[Manifest, ...]
    lifecycle: dict[str, Any]
    text: str

    @property
    def ident(self) -> str:
        return f"{self.name}-v{self.version}"


def _get(mapping: dict, key: str, default: Any = None) -> Any:
    """Recipe keys are case-insensitive in format 2020-01-25."""
    if key in mapping:
        return mapping[key]
    low = key.lower()
    for k, v in mapping.items():
        if isinstance(k, str) and k.lower() == low:
            return v
    return default


def _map(value: Any, what: str) -> dict:
    if value is None:
        return {}
    if not isinstance(value, dict) or not all(isinstance(k, str) for k in value):
        raise RecipeError(f"{what} must be a map with string keys")
    return value


def _text(value: Any, what: str, *, required: bool = False) -> str:
    if value is None and not required:
        return ""
    if isinstance(value, bool) or not isinstance(value, (str, int, float)):
        raise RecipeError(f"{what} must be a string")
    return str(value)


def load_document(text: str, fmt: str = "yaml") -> Any:
    if len(text.encode("utf-8", "surrogatepass")) > MAX_RECIPE_BYTES:
        raise RecipeError(f"Recipe is larger than {MAX_RECIPE_BYTES} bytes")
    try:
        return json.loads(text) if fmt == "json" else yaml.load(text, Loader=_Loader)  # noqa: S506 (safe subclass)
    except RecipeError:
        raise
    except (yaml.YAMLError, ValueError, RecursionError, UnicodeError) as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise RecipeError(f"Failed to parse recipe file content to contract model: {first}") from None


def parse_recipe(text: str, fmt: str = "yaml") -> Recipe:
    """Parse and validate one recipe; raises RecipeError/VersionError, nothing else."""
    try:
        return _parse(load_document(text, fmt), text)
    except (RecipeError, VersionError):
        raise
    except RecursionError:
        raise RecipeError("Recipe is nested too deeply") from None


def _parse(doc: Any, text: str) -> Recipe:
    doc = _map(doc, "Recipe")
    fmt_version = _get(doc, "RecipeFormatVersion")
    if str(fmt_version) != FORMAT_VERSION:
        raise RecipeError(f"RecipeFormatVersion must be '{FORMAT_VERSION}', got {fmt_version!r}")
    name = _get(doc, "ComponentName")
    if not isinstance(name, str) or not NAME_RE.fullmatch(name):
        raise RecipeError(f"ComponentName {name!r} is missing or not a valid component name")
    version = Version.parse(_get(doc, "ComponentVersion"))
    deps: dict[str, Dependency] = {}
    for dep_name, spec in _map(_get(doc, "ComponentDependencies"), "ComponentDependencies").items():
        if not NAME_RE.fullmatch(dep_name):
            raise RecipeError(f"Dependency name {dep_name!r} is not a valid component name")
        spec = _map(spec, f"ComponentDependencies.{dep_name}")
        kind = _text(_get(spec, "DependencyType", "HARD"), "DependencyType").upper()
        if kind not in ("HARD", "SOFT"):
            raise RecipeError(f"DependencyType of {dep_name} must be HARD or SOFT, got {kind!r}")
        deps[dep_name] = Dependency(Requirement.parse(_text(_get(spec, "VersionRequirement", "*"),
                                                            "VersionRequirement") or "*"), kind)
    if name in deps:
        raise RecipeError(f"Component {name} depends on itself")
    config = _map(_get(doc, "ComponentConfiguration"), "ComponentConfiguration")
    default_config = _map(_get(config, "DefaultConfiguration"), "DefaultConfiguration")
    try:
        json.dumps(default_config)  # only JSON-representable values may be configuration
    except (TypeError, ValueError):
        raise RecipeError("DefaultConfiguration holds values that are not JSON (dates, binary)") from None
    manifests = _get(doc, "Manifests")
    if not isinstance(manifests, list) or not manifests:
        raise RecipeError(f"Recipe file {name}-{version}.yaml is missing manifests")
    lifecycle = _map(_get(doc, "Lifecycle"), "Lifecycle")
    parsed = tuple(_manifest(m, i) for i, m in enumerate(manifests))
    for m in parsed:
        if m.lifecycle is not None:
            parse_lifecycle(m.lifecycle)
    return Recipe(name, version, _text(_get(doc, "ComponentDescription"), "ComponentDescription"),
                  _text(_get(doc, "ComponentPublisher"), "ComponentPublisher"), deps, default_config,
                  parsed, lifecycle, text)


def _manifest(raw: Any, index: int) -> Manifest:
    raw = _map(raw, f"Manifests[{index}]")
    platform = _map(_get(raw, "Platform"), f"Manifests[{index}].Platform")
    plat = {k: _text(v, f"Platform.{k}", required=True) for k, v in platform.items()}
    lifecycle = _get(raw, "Lifecycle")
    if lifecycle is not None:
        lifecycle = _map(lifecycle, f"Manifests[{index}].Lifecycle")
    selections = _get(raw, "Selections") or []
    if not isinstance(selections, list) or not all(isinstance(s, str) for s in selections):
        raise RecipeError(f"Manifests[{index}].Selections must be a list of strings")
    arts = _get(raw, "Artifacts") or []
    if not isinstance(arts, list):
        raise RecipeError(f"Manifests[{index}].Artifacts must be a list")
    return Manifest(plat, lifecycle, tuple(_artifact(a) for a in arts), tuple(selections))


def _artifact(raw: Any) -> ComponentArtifact:
    raw = _map(raw, "Artifact")
    uri = _text(_get(raw, "Uri") or _get(raw, "URI"), "Artifact Uri", required=True)
    name = uri.rstrip("/").rsplit("/", 1)[-1]
    if not uri or ":" not in uri or name in ("", ".", "..") or "\\" in name or any(ord(c) < 32 for c in uri):
        raise RecipeError(f"Artifact URI {uri!r} is not valid", stack=("DEPLOYMENT_FAILURE", "ARTIFACT_URI_NOT_VALID"))
    algorithm = _text(_get(raw, "Algorithm", "SHA-256"), "Algorithm") or "SHA-256"
    if algorithm.upper() not in ("SHA-256", "SHA-384", "SHA-512", "MD5", "SHA-1"):
        raise RecipeError(f"Artifact {uri}: unsupported Algorithm {algorithm!r}")
    unarchive = _text(_get(raw, "Unarchive", "NONE"), "Unarchive").upper() or "NONE"
    if unarchive not in ("NONE", "ZIP"):
        raise RecipeError(f"Artifact {uri}: Unarchive must be NONE or ZIP, got {unarchive!r}")
    perm = _map(_get(raw, "Permission"), "Artifact Permission")
    read = _text(_get(perm, "Read", "OWNER"), "Permission.Read").upper()
    execute = _text(_get(perm, "Execute", "NONE"), "Permission.Execute").upper()
    if read not in ("NONE", "OWNER", "ALL") or execute not in ("NONE", "OWNER", "ALL"):
        raise RecipeError(f"Artifact {uri}: Permission values must be NONE, OWNER or ALL")
    digest = _get(raw, "Digest")
    return ComponentArtifact(uri, _text(digest, "Digest") or None, algorithm.upper(), unarchive, read, execute)


def parse_lifecycle(lifecycle: dict[str, Any]) -> tuple[dict[str, Step], dict[str, str]]:
    """Steps by name plus the lifecycle-wide Setenv; unknown keys are ignored like the nucleus does."""
    steps: dict[str, Step] = {}
    for step_name in STEP_NAMES:
        raw = _get(lifecycle, step_name)
        if raw is None:
            continue
        if isinstance(raw, str):
            steps[step_name] = Step(raw, DEFAULT_TIMEOUTS.get(step_name))
            continue
        raw = _map(raw, f"Lifecycle.{step_name}")
        script = _get(raw, "Script")
        if not isinstance(script, str):
            raise RecipeError(f"Lifecycle.{step_name}.Script must be a string")
        timeout = _get(raw, "Timeout", DEFAULT_TIMEOUTS.get(step_name))
        if timeout is not None and (isinstance(timeout, bool) or not isinstance(timeout, (int, float))
                                    or not 0 < timeout <= 86400 * 365):
            raise RecipeError(f"Lifecycle.{step_name}.Timeout must be a positive number of seconds")
        skipif = _get(raw, "Skipif")
        if skipif is not None and (not isinstance(skipif, str)
                                   or not re.match(r"^(onpath|exists)\s+\S", skipif.strip())):
            raise RecipeError(f"Lifecycle.{step_name}.Skipif must be 'onpath <exe>' or 'exists <file>'")
        privileged = _get(raw, "RequiresPrivilege", False)
        if not isinstance(privileged, bool):
            privileged = str(privileged).lower() == "true"
        steps[step_name] = Step(script, None if timeout is None else float(timeout),
                                _env(_get(raw, "Setenv"), f"Lifecycle.{step_name}.Setenv"),
                                skipif.strip() if skipif else None, privileged)
    return steps, _env(_get(lifecycle, "Setenv"), "Lifecycle.Setenv")


def _env(raw: Any, what: str) -> dict[str, str]:
    env = _map(raw, what)
    out = {}
    for k, v in env.items():
        if not isinstance(k, str) or not ENV_KEY_RE.fullmatch(k) or isinstance(v, (dict, list)):
            raise RecipeError(f"{what}: {k!r} must be a variable name with a scalar value")
        out[k] = "" if v is None else (str(v).lower() if isinstance(v, bool) else str(v))
    return out
