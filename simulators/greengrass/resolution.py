"""What a deployment resolves and keeps: the version of each component its requirements allow, the components
still reachable from the groups, when Bootstrap runs, and which versions the store keeps."""

from __future__ import annotations

from typing import Any

from simulators.greengrass.errors import DependencyError
from simulators.greengrass.lifecycle import ServiceSpec
from simulators.greengrass.recipe import Recipe
from simulators.greengrass.semver import Requirement, Version
from simulators.greengrass.store import Store


def pick(store: Store, name: str, reqs: list[tuple[str, Requirement]], previous: dict) -> Recipe:
    """The version of ``name`` every requirement allows: the running one if it still is, else the newest."""
    ok = [v for v in store.versions(name) if all(r.allows(v) for _, r in reqs)]
    active = previous["components"].get(name, {}).get("version")
    if active and Version.parse(active) in ok:
        version = Version.parse(active)
    elif ok:
        version = max(ok)
    else:
        constraints = ", ".join(f"{who} requires {req}" for who, req in reqs)
        raise DependencyError(
            "No local or cloud component version satisfies the requirements. Check whether the version "
            "constraints conflict and that the component exists in your AWS account with a version that "
            "matches the version constraints. If the version constraints conflict, revise deployments to "
            f"resolve the conflict. Component {name} version constraints: {constraints}.")
    recipe = store.load_recipe(name, str(version))
    assert recipe is not None
    return recipe


def reachable(groups: dict, chosen: dict[str, Recipe]) -> set[str]:
    """Every component a group's root names, directly or through dependencies: the rest leaves the core."""
    todo = [n for roots in groups.values() for n in roots]
    seen: set[str] = set()
    while todo:
        n = todo.pop()
        if n not in seen:
            seen.add(n)
            todo += list(chosen[n].dependencies)
    return seen


def bootstrap_required(old: ServiceSpec | None, new: ServiceSpec) -> bool:
    """A Bootstrap step runs for a new component, a new version, or a changed (interpolated) Bootstrap step —
    not for a configuration change alone (BootstrapManager.java:444-467, GenericExternalService.java:280-310)."""
    step = new.steps.get("Bootstrap")
    return step is not None and (old is None or old.version != new.version or old.steps.get("Bootstrap") != step)


def rotated_previous(old: dict[str, Any] | None, version: str) -> str | None:
    """KernelConfigResolver.java:711-733: a new version rotates the running one into previousVersion; the same
    version again keeps one only if there was one, and then it is the running version (the nucleus reads the
    version topic there), so the older version leaves the store."""
    if old is None:
        return None
    if old["version"] != version:
        return old["version"]
    return old["version"] if old.get("previousVersion") else None


def versions_to_keep(committed: dict[str, Any]) -> dict[str, set[str]]:
    """ComponentManager.getVersionsToKeep (ComponentManager.java:621-654): each component's running and previous
    version; nothing of a component that is no longer deployed."""
    return {n: {e["version"], *([e["previousVersion"]] if e.get("previousVersion") else [])}
            for n, e in committed["components"].items()}
