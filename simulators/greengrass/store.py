"""Durable state on disk: atomic JSON writes, the component store, deployment records and the journal.

Every write is write-temp + fsync + rename + fsync(dir), so a SIGKILL leaves either the old or the new
file, never a torn one. `config/state.json` is the commit point of a deployment.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path
from typing import Any

from simulators.greengrass.recipe import Recipe, parse_recipe
from simulators.greengrass.semver import Version


def atomic_write(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    with open(tmp, "wb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)
    fd = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def write_json(path: Path, obj: Any) -> None:
    atomic_write(path, json.dumps(obj, indent=1, sort_keys=True).encode())


def read_json(path: Path, default: Any = None) -> Any:
    try:
        return json.loads(path.read_text())
    except FileNotFoundError:
        return default


class Store:
    """Paths of the real /greengrass/v2 layout plus the emulator's own state files."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.recipes = root / "packages" / "recipes"
        self.artifacts = root / "packages" / "artifacts"
        self.unarchived = root / "packages" / "artifacts-unarchived"
        self.deployments = root / "deployments"
        self.state_file = root / "config" / "state.json"
        self.journal_file = root / "deployments" / "journal.json"

    # component store ---------------------------------------------------------------------------
    def recipe_path(self, name: str, version: str, fmt: str = "yaml") -> Path:
        return self.recipes / f"{name}-{version}.{fmt}"

    def save_recipe(self, recipe: Recipe, fmt: str) -> None:
        for other in ("yaml", "json"):
            if other != fmt:
                self.recipe_path(recipe.name, str(recipe.version), other).unlink(missing_ok=True)
        atomic_write(self.recipe_path(recipe.name, str(recipe.version), fmt), recipe.text.encode())

    def load_recipe(self, name: str, version: str) -> Recipe | None:
        for fmt in ("yaml", "json"):
            path = self.recipe_path(name, version, fmt)
            if path.is_file():
                return parse_recipe(path.read_text(), fmt)
        return None

    def versions(self, name: str) -> list[Version]:
        out = []
        for path in self.recipes.glob(f"{name}-*.*"):
            stem = path.name[len(name) + 1:].rsplit(".", 1)[0]
            try:
                out.append(Version.parse(stem))
            except Exception:  # noqa: BLE001 - another component whose name shares our prefix
                continue
        return sorted(set(out))

    def remove_stale(self, keep: dict[str, set[str]]) -> list[str]:
        """Delete recipes, artifacts and unpacked artifacts of versions not in `keep` (name -> versions)."""
        removed = []
        wanted = {f"{n}-{v}.{fmt}" for n, vs in keep.items() for v in vs for fmt in ("yaml", "json")}
        for path in list(self.recipes.glob("*.*")) if self.recipes.exists() else []:
            if path.name not in wanted:
                path.unlink(missing_ok=True)
                removed.append(path.name)
        for base in (self.artifacts, self.unarchived):
            for comp in base.iterdir() if base.exists() else []:
                for vdir in comp.iterdir():
                    if vdir.name not in keep.get(comp.name, set()):
                        shutil.rmtree(vdir, ignore_errors=True)
                if comp.is_dir() and not any(comp.iterdir()):
                    comp.rmdir()
        return removed

    # committed state, journal, records ---------------------------------------------------------
    def committed(self) -> dict[str, Any]:
        return read_json(self.state_file, {"groups": {}, "components": {}})

    def commit(self, state: dict[str, Any]) -> None:
        write_json(self.state_file, state)

    def journal(self) -> dict[str, Any] | None:
        return read_json(self.journal_file)

    def write_journal(self, journal: dict[str, Any]) -> None:
        write_json(self.journal_file, journal)

    def clear_journal(self) -> None:
        self.journal_file.unlink(missing_ok=True)

    def record_path(self, deployment_id: str) -> Path:
        return self.deployments / f"{deployment_id}.json"

    def record(self, deployment_id: str) -> dict[str, Any] | None:
        return read_json(self.record_path(deployment_id))

    def write_record(self, record: dict[str, Any]) -> None:
        write_json(self.record_path(record["deploymentId"]), record)

    def records(self) -> list[dict[str, Any]]:
        out = [read_json(p) for p in self.deployments.glob("*.json") if p.name != "journal.json"]
        return sorted((r for r in out if r), key=lambda r: r["createdOn"])

    def staging(self, deployment_id: str) -> Path:
        return self.deployments / deployment_id
