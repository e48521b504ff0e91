"""Artifacts on disk: SHA-256 digests, deterministic ZIPs, and the recipe/artifact directory layout.

greengrass-cli ``deployment create --recipeDir R --artifactDir A`` expects
``R/<name>-<version>.yaml`` and ``A/<name>/<version>/<file>`` (Greengrass CLI reference). A
recipe's ``Digest`` is the base64 of the artifact's SHA-256, ``Algorithm: SHA-256``; the nucleus
refuses an artifact whose hash differs.
"""

from __future__ import annotations

import base64
import os
import shutil
import stat
import zipfile
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from harness.greengrass.errors import ComponentArtifactError
from harness.greengrass.recipe import Recipe
from harness.primitives.digest import sha256_bytes, sha256_file_raw

_CHUNK = 1 << 20
_ZIP_EPOCH = (1980, 1, 1, 0, 0, 0)


def sha256_of(path: Path) -> bytes:
    """Raw SHA-256 of an artifact file; an unreadable file is a ComponentArtifactError."""
    try:
        return sha256_file_raw(path)
    except OSError as exc:
        raise ComponentArtifactError(f"{path}: cannot be read: {exc.strerror or exc}", step="digest artifact") from None


def greengrass_digest(path: Path) -> str:
    """The recipe ``Digest`` of a file: base64 of its SHA-256, as Greengrass writes it."""
    return base64.b64encode(sha256_of(path)).decode("ascii")


def hex_to_greengrass(hexdigest: str) -> str:
    """``sha256sum``'s hex form converted to the recipe's base64 form."""
    return base64.b64encode(bytes.fromhex(hexdigest)).decode("ascii")


def zip_directory(src: Path, dest: Path) -> Path:
    """Pack ``src``'s files at the archive root, byte-for-byte reproducibly.

    The nucleus unpacks ``model.zip`` to ``{artifacts:decompressedPath}/model/``. Same input, same
    digest: entries sorted, timestamps fixed, only regular files and directories (a symlink could
    point outside the model, so it is refused rather than followed).
    """
    src = Path(src)
    if not src.is_dir():
        raise ComponentArtifactError(f"{src}: not a directory to pack", step="pack artifact")
    files: list[tuple[str, Path]] = []
    for root, dirs, names in os.walk(src, followlinks=False):
        for name in list(dirs) + names:
            full = Path(root) / name
            mode = full.lstat().st_mode
            if stat.S_ISLNK(mode) or not (stat.S_ISREG(mode) or stat.S_ISDIR(mode)):
                raise ComponentArtifactError(f"{full}: only regular files can be packed (symlink or special file)",
                                    step="pack artifact", advice="copy the real file into the model directory")
            if stat.S_ISREG(mode):
                files.append((full.relative_to(src).as_posix(), full))
    if not files:
        raise ComponentArtifactError(f"{src}: empty directory, nothing to pack", step="pack artifact")
    dest.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(dest, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for arcname, full in sorted(files):
            info = zipfile.ZipInfo(arcname, date_time=_ZIP_EPOCH)
            executable = full.stat().st_mode & 0o111
            info.external_attr = ((0o755 if executable else 0o644) | stat.S_IFREG) << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            with open(full, "rb") as fh, zf.open(info, "w") as out:
                shutil.copyfileobj(fh, out, _CHUNK)
    return dest


@dataclass(frozen=True)
class Component:
    """A recipe and the local files of its artifacts (artifact file name -> path)."""

    recipe: Recipe
    files: Mapping[str, Path] = field(default_factory=dict)

    @property
    def ref(self) -> str:
        return self.recipe.ref

    def sealed(self) -> Component:
        """The component with every artifact's Digest filled in from its file.

        Every file-backed artifact of the recipe needs a file, every file an artifact; a Digest
        already in the recipe must match the file.
        """
        wanted = {a.file_name: a for m in self.recipe.manifests for a in m.artifacts if not a.uri.startswith("docker:")}
        missing = sorted(set(wanted) - set(self.files))
        extra = sorted(set(self.files) - set(wanted))
        if missing or extra:
            raise ComponentArtifactError(
                f"{self.ref}: recipe artifacts and files differ (no file for {missing or '-'}, "
                f"no artifact for {extra or '-'})", step="seal component")
        digests = {}
        for name, path in self.files.items():
            digest = greengrass_digest(path)
            declared = wanted[name].digest
            if declared is not None and declared != digest:
                raise ComponentArtifactError(f"{self.ref}: {name}: file digest {digest} does not match the recipe's "
                                    f"Digest {declared}", step="seal component",
                                    advice="rebuild the component, or remove the stale Digest")
            digests[name] = digest
        return Component(self.recipe.with_digests(digests), dict(self.files))


@dataclass(frozen=True)
class StoreEntry:
    """One file of a local component store: a recipe (``data``) or an artifact (``local``)."""

    relpath: PurePosixPath
    sha256_hex: str
    local: Path | None = None
    data: bytes | None = None


def store_entries(components: Iterable[Component]) -> list[StoreEntry]:
    """The files of ``recipes/`` and ``artifacts/`` for these components, digests sealed."""
    entries: list[StoreEntry] = []
    seen: set[str] = set()
    for comp in components:
        comp = comp.sealed()
        recipe = comp.recipe
        if recipe.ref in seen:
            raise ComponentArtifactError(f"{recipe.ref} is given twice", step="lay out components")
        seen.add(recipe.ref)
        text = recipe.to_yaml().encode()
        entries.append(StoreEntry(PurePosixPath("recipes", f"{recipe.component_name}-{recipe.component_version}.yaml"),
                                  sha256_bytes(text), data=text))
        for name, path in sorted(comp.files.items()):
            entries.append(StoreEntry(
                PurePosixPath("artifacts", recipe.component_name, recipe.component_version, name),
                sha256_of(path).hex(), local=Path(path)))
    return entries


def write_store(components: Iterable[Component], dest: Path) -> tuple[Path, Path]:
    """Write ``dest/recipes`` and ``dest/artifacts`` for greengrass-cli; returns (recipe_dir, artifact_dir)."""
    dest = Path(dest)
    for entry in store_entries(components):
        target = dest.joinpath(*entry.relpath.parts)
        target.parent.mkdir(parents=True, exist_ok=True)
        if entry.data is not None:
            target.write_bytes(entry.data)
        else:
            assert entry.local is not None
            shutil.copyfile(entry.local, target)
            if os.stat(entry.local).st_mode & 0o111:
                target.chmod(0o755)
    (dest / "recipes").mkdir(parents=True, exist_ok=True)
    (dest / "artifacts").mkdir(parents=True, exist_ok=True)
    return dest / "recipes", dest / "artifacts"
