"""Artifacts of a local deployment: copied from `--artifactDir`, digest-checked, unarchived, permissioned.

A local deployment copies the whole `--artifactDir` tree into the component store, declared artifacts or
not (aws-greengrass-nucleus DeploymentService.copyRecipesAndArtifacts, Utils.copyFolderRecursively): a
recipe without an Artifacts section still finds `{artifacts:path}/hello_world.py`. Copies keep the source's
permission bits (Java's Files.copy) under the nucleus's umask; every file in the version's directory is
then owned by the component user (RunWithPathOwnershipHandler.updateOwner). Every ZIP member must stay
inside its unarchive directory (zip-slip and links are refused) and a digest mismatch deletes the copy, so a
failed preparation leaves nothing usable behind.
"""

from __future__ import annotations

import base64
import hashlib
import os
import shutil
import stat
import zipfile
from pathlib import Path

from simulators.greengrass.errors import ArtifactError, ChecksumMismatch, UnarchiveError
from simulators.greengrass.recipe import ComponentArtifact, Manifest, Recipe

_ALGORITHMS = {"SHA-256": "sha256", "SHA-384": "sha384", "SHA-512": "sha512", "SHA-1": "sha1", "MD5": "md5"}
MAX_UNARCHIVED_BYTES = 4 << 30
_UMASK = 0o022  # the nucleus's, as a root service


def digest_of(path: Path, algorithm: str = "SHA-256") -> str:
    """Base64 of the raw digest, the way Greengrass writes Digest in recipes."""
    h = hashlib.new(_ALGORITHMS[algorithm.upper()])
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return base64.b64encode(h.digest()).decode()


def _mode(art: ComponentArtifact) -> int:
    """Permission.toFileSystemPermission (models/Permission.java:35-47): the owner always reads, the group is
    treated as the owner, execute implies read; the write bit only when the nucleus is not root
    (util/Permissions.java:56-62)."""
    execute = art.execute in ("OWNER", "ALL")
    mode = 0o400
    mode |= 0o040 if art.read in ("OWNER", "ALL") or execute else 0
    mode |= 0o110 if execute else 0
    mode |= 0o004 if art.read == "ALL" or art.execute == "ALL" else 0
    mode |= 0o001 if art.execute == "ALL" else 0
    return mode | (0o200 if os.geteuid() != 0 else 0)


def _apply(path: Path, mode: int, owner: tuple[int, int] | None) -> None:
    if owner is not None:
        os.chown(path, *owner)
    os.chmod(path, mode)


def copy_version_dir(source: Path, store: Path, owner: tuple[int, int] | None) -> None:
    """Copy `source` (`--artifactDir/<name>/<version>`) into `store`, every file, replacing what is there."""
    for path in sorted(source.rglob("*")):
        if path.is_symlink() or not (path.is_file() or path.is_dir()):
            continue  # a link could point outside the artifact directory
        target = store / path.relative_to(source)
        if path.is_dir():
            target.mkdir(parents=True, exist_ok=True)
            os.chmod(target, 0o755)
            continue
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = target.with_name(f".{target.name}.part")
        shutil.copyfile(path, tmp)
        os.chmod(tmp, stat.S_IMODE(path.stat().st_mode) & ~_UMASK)
        os.replace(tmp, target)
    if owner is not None:
        for path in store.rglob("*"):
            os.chown(path, *owner, follow_symlinks=False)


def prepare(recipe: Recipe, manifest: Manifest, source_dir: Path | None, root: Path,
            owner: tuple[int, int] | None) -> None:
    """Copy the version's artifact directory, then make every declared artifact verified and unpacked."""
    store = root / "packages" / "artifacts" / recipe.name / str(recipe.version)
    store.mkdir(parents=True, exist_ok=True)
    os.chmod(store, 0o755)
    source = source_dir / recipe.name / str(recipe.version) if source_dir else None
    if source is not None and source.is_dir():
        copy_version_dir(source, store, owner)
    for art in manifest.artifacts:
        target = store / art.filename
        if not target.is_file():
            raise ArtifactError(
                f"Failed to download artifact {art.uri} for component {recipe.ident}: not found in "
                f"the artifact directory ({source or 'none given'}) nor in the component store")
        if art.digest:
            actual = digest_of(target, art.algorithm)
            if actual != art.digest:
                target.unlink(missing_ok=True)
                raise ChecksumMismatch(
                    f"Integrity check for downloaded artifact failed. Probably due to file corruption. "
                    f"Artifact {art.uri} of {recipe.ident}: expected {art.algorithm} {art.digest}, got {actual}")
        _apply(target, _mode(art), owner)
        if art.unarchive == "ZIP":
            unzip(target, root / "packages" / "artifacts-unarchived" / recipe.name / str(recipe.version)
                  / Path(art.filename).stem, _mode(art), owner)


def unzip(archive: Path, dest: Path, mode: int, owner: tuple[int, int] | None) -> None:
    """Extract into a fresh sibling directory, then swap it in; refuse any member leaving `dest`."""
    staging = dest.with_name(f".{dest.name}.unzip")
    shutil.rmtree(staging, ignore_errors=True)
    try:
        with zipfile.ZipFile(archive) as zf:
            members = zf.infolist()
            if sum(m.file_size for m in members) > MAX_UNARCHIVED_BYTES:
                raise UnarchiveError(f"Archive {archive.name} unpacks to more than {MAX_UNARCHIVED_BYTES} bytes")
            staging.mkdir(parents=True)
            base = staging.resolve()
            for m in members:
                name = m.filename
                kind = stat.S_IFMT(m.external_attr >> 16)
                if kind and kind not in (stat.S_IFREG, stat.S_IFDIR):
                    raise UnarchiveError(f"Archive {archive.name}: member {name!r} is a link or device; refused")
                out = (base / name).resolve()
                if name.startswith("/") or "\\" in name or (out != base and base not in out.parents):
                    raise UnarchiveError(
                        f"Archive {archive.name}: member {name!r} would be written outside "
                        f"{dest} (zip slip); refused")
                if m.is_dir():
                    out.mkdir(parents=True, exist_ok=True)
                    continue
                out.parent.mkdir(parents=True, exist_ok=True)
                with zf.open(m) as src, open(out, "wb") as dst:
                    shutil.copyfileobj(src, dst)
                _apply(out, mode, owner)
    except UnarchiveError:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    except (zipfile.BadZipFile, OSError, ValueError, NotImplementedError) as exc:
        shutil.rmtree(staging, ignore_errors=True)
        raise UnarchiveError(f"Failed to unarchive {archive.name}: {exc}") from None
    for d in [staging, *[p for p in staging.rglob("*") if p.is_dir()]]:
        if owner is not None:
            os.chown(d, *owner)
        os.chmod(d, 0o755)
    shutil.rmtree(dest, ignore_errors=True)
    os.replace(staging, dest)
