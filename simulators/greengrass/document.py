"""The local deployment request (what `greengrass-cli deployment create` sends), parsed and validated.

Any malformed request raises DocumentError with a one-line reason (fuzzed in tests); a valid one is a
frozen DeploymentDocument the engine can journal as plain JSON.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from typing import Any

from simulators.greengrass.errors import DocumentError, VersionError
from simulators.greengrass.recipe import NAME_RE
from simulators.greengrass.semver import Version

POLICIES = ("ROLLBACK", "DO_NOTHING")
LOCAL_GROUP = "LOCAL_DEPLOYMENT"


@dataclass(frozen=True)
class DeploymentDocument:
    merge: dict[str, str] = field(default_factory=dict)
    remove: tuple[str, ...] = ()
    group: str = LOCAL_GROUP
    recipe_dir: str | None = None
    artifact_dir: str | None = None
    config_update: dict[str, dict[str, Any]] = field(default_factory=dict)
    failure_policy: str = "DO_NOTHING"

    def to_json(self) -> dict[str, Any]:
        d = asdict(self)
        d["remove"] = list(self.remove)
        return d


def _path(value: Any, what: str) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str) or not value.startswith("/") or "\x00" in value or len(value) > 4096:
        raise DocumentError(f"{what} must be an absolute path")
    return value


def parse_document(raw: Any) -> DeploymentDocument:
    if not isinstance(raw, dict):
        raise DocumentError("Deployment request must be a JSON object")
    unknown = set(raw) - {"merge", "remove", "group", "recipe_dir", "artifact_dir", "config_update",
                          "failure_policy"}
    if unknown:
        raise DocumentError(f"Deployment request has unknown fields: {', '.join(sorted(map(str, unknown)))}")
    merge = raw.get("merge") or {}
    if not isinstance(merge, dict):
        raise DocumentError("--merge must map component names to versions")
    for name, version in merge.items():
        if not isinstance(name, str) or not NAME_RE.fullmatch(name):
            raise DocumentError(f"--merge: {name!r} is not a valid component name")
        try:
            Version.parse(version)
        except VersionError:
            raise DocumentError(f"--merge {name}={version}: version is not a valid semantic version") from None
    remove = raw.get("remove") or []  # picocli List<String>: "a,b" is one name, which matches no component
    if not isinstance(remove, list) or not all(isinstance(n, str) and n.isprintable() and 0 < len(n) <= 256
                                               for n in remove):
        raise DocumentError("--remove must be a list of component names")
    group = raw.get("group") or LOCAL_GROUP
    if not isinstance(group, str) or not group or len(group) > 256 or any(ord(c) < 32 for c in group):
        raise DocumentError("--groupId must be a non-empty printable string")
    update = raw.get("config_update") or {}
    if not isinstance(update, dict):
        raise DocumentError("--update-config must be a JSON object of component names")
    for name, spec in update.items():
        if not isinstance(name, str) or not NAME_RE.fullmatch(name):
            raise DocumentError(f"--update-config: {name!r} is not a valid component name")
        if not isinstance(spec, dict) or set(spec) - {"MERGE", "RESET"}:
            raise DocumentError(f"--update-config {name}: only MERGE (object) and RESET (list) are allowed")
        if not isinstance(spec.get("MERGE", {}), dict):
            raise DocumentError(f"--update-config {name}: MERGE must be a JSON object")
        reset = spec.get("RESET", [])
        if not isinstance(reset, list) or not all(isinstance(p, str) and (p == "" or p.startswith("/"))
                                                  for p in reset):
            raise DocumentError(f"--update-config {name}: RESET must be a list of JSON pointers")
    try:
        json.dumps(update)
    except (TypeError, ValueError):
        raise DocumentError("--update-config must hold only JSON values") from None
    policy = raw.get("failure_policy") or "DO_NOTHING"  # DeploymentDocumentConverter: a local default
    if policy not in POLICIES:
        raise DocumentError(f"failure handling policy must be one of {', '.join(POLICIES)}, got {policy!r}")
    overlap = set(merge) & set(remove)
    if overlap:
        raise DocumentError(f"Components both merged and removed: {', '.join(sorted(overlap))}")
    return DeploymentDocument(dict(merge), tuple(remove), group, _path(raw.get("recipe_dir"), "--recipeDir"),
                              _path(raw.get("artifact_dir"), "--artifactDir"), update, policy)
