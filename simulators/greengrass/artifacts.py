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

from simulators.greengrass.errors import ArtifactError, ChecksumMismatch, CopyError, UnarchiveError
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


#: DeploymentService.java:638-641: every failure of the copy into the component store starts so.
_COPYING = "Error copying recipes and artifacts. "


def _artifacts_not_copied(source: Path | None, cause: str) -> CopyError:
    """The nucleus's message for an artifact directory it could not copy (DeploymentService.java:781-785; the
    double space is its own)."""
    return CopyError(f"{_COPYING}Unable to copy artifacts from  {source} due to: {cause}")


def stage_tree(source: Path, dest: Path, store: Path, *, recipes: bool = False) -> None:
    """Copy a deployment's --recipeDir or --artifactDir to `dest`, stopping at the first failure as the
    nucleus's Utils.copyFolderRecursively does (Utils.java:707-724); the file being written when it failed is
    removed, as OpenJDK's UnixCopyFile.copyFile rolls a failed copy back. The CopyError reads like the
    nucleus's (DeploymentService.java:638-641,781-785, Utils.generateFailureMessage), naming the component
    store path (`store`) the file was bound for."""
    src, dst = source, store
    try:
        for dirpath, dirnames, filenames in os.walk(source):
            dirnames.sort()
            rel = Path(dirpath).relative_to(source)
            (dest / rel).mkdir(parents=True, exist_ok=True)
            for name in sorted(filenames):
                src, dst = Path(dirpath) / name, store / rel / name
                try:
                    shutil.copy2(src, dest / rel / name)
                except OSError:
                    (dest / rel / name).unlink(missing_ok=True)
                    raise
    except OSError as exc:
        reason = exc.strerror or str(exc)
        if recipes:
            raise CopyError(f"{_COPYING}Unable to copy recipe {src} to component store "
                            f"due to: Failed to save package recipe. Failed to save package recipe. {reason}",
                            stack=(*CopyError.stack, "COMPONENT_PACKAGE_LOADING_ERROR")) from None
        java = f"{src} -> {dst}: {reason}"  # FileSystemException.getMessage
        raise _artifacts_not_copied(source, f"{java}. {java}") from None


def move_version_dir(source: Path, store: Path, owner: tuple[int, int] | None) -> None:
    """Move the staged `<name>/<version>` directory's files into `store`, replacing what is there. Staging and
    store share the core's disk, so an artifact takes its space once, as the nucleus's single copy does."""
    for path in sorted(source.rglob("*")):
        if path.is_symlink() or not (path.is_file() or path.is_dir()):
            continue  # a link could point outside the artifact directory
        target = store / path.relative_to(source)
        if path.is_dir():
            target.mkdir(parents=True, exist_ok=True)
            os.chmod(target, 0o755)
            continue
        target.parent.mkdir(parents=True, exist_ok=True)
        mode = stat.S_IMODE(path.stat().st_mode) & ~_UMASK
        os.replace(path, target)
        os.chmod(target, mode)
    if owner is not None:
        for path in store.rglob("*"):
            os.chown(path, *owner, follow_symlinks=False)


def _java_artifact(art: ComponentArtifact) -> str:
    """ComponentArtifact's Lombok toString, as ComponentManager's messages print it."""
    return (f"ComponentArtifact(artifactUri={art.uri}, checksum={art.digest}, algorithm={art.algorithm}, "
            f"unarchive={art.unarchive}, permission=Permission(read={art.read}, execute={art.execute}))")


def prepare(recipe: Recipe, manifest: Manifest, source_dir: Path | None, root: Path,
            owner: tuple[int, int] | None) -> None:
    """Copy the version's artifact directory, then make every declared artifact verified and unpacked."""
    store = root / "packages" / "artifacts" / recipe.name / str(recipe.version)
    source = source_dir / recipe.name / str(recipe.version) if source_dir else None
    try:
        store.mkdir(parents=True, exist_ok=True)
        os.chmod(store, 0o755)
        if source is not None and source.is_dir():
            move_version_dir(source, store, owner)
    except OSError as exc:
        raise _artifacts_not_copied(source_dir, exc.strerror or str(exc)) from None
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
            try:
                unzip(target, root / "packages" / "artifacts-unarchived" / recipe.name / str(recipe.version)
                      / Path(art.filename).stem, _mode(art), owner)
            except UnarchiveError as exc:  # ComponentManager.java:547-550, then the cause's message
                raise UnarchiveError(f"Failed to unarchive component {recipe.ident} artifact {_java_artifact(art)}. "
                                     f"{exc.message}") from None


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
        shutil.rmtree(staging, ignore_errors=True)  # the Unarchiver deletes what it extracted (Unarchiver.java:66-69)
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else f"{archive.name}: {exc}"
        raise UnarchiveError(reason) from None
    for d in [staging, *[p for p in staging.rglob("*") if p.is_dir()]]:
        if owner is not None:
            os.chown(d, *owner)
        os.chmod(d, 0o755)
    shutil.rmtree(dest, ignore_errors=True)
    os.replace(staging, dest)
