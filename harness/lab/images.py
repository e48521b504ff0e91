"""Emulated core images: a debootstrapped Debian base, then the layers in devices/images/layers.

No registry is reachable from a lab, so the base comes from ``debootstrap`` against the host's
Debian mirror and ``docker import``; the layers are a ``docker build`` on top. Both are cached:
the base by name, the core by a digest of every input (see devices/images/README.md).
"""

from __future__ import annotations

import importlib
import importlib.util
import json
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import docker
import yaml
from docker.errors import BuildError, DockerException, ImageNotFound

from harness import resources
from harness.errors import FailureClass, LabError
from harness.lab.paths import LAYERS_DIR, state_dir
from harness.lab.wheels import download
from harness.primitives.digest import sha256_bytes, sha256_file, stable_key
from harness.primitives.hostcmd import run_controller
from harness.primitives.progress import Say

SUITE = "bookworm"
BASE_PACKAGES = ["python3", "python3-venv", "openssh-server", "sudo", "procps", "iproute2", "ca-certificates"]
DEBOOTSTRAP_TIMEOUT = 1800.0
DEFAULT_MIRROR = "http://deb.debian.org/debian"


def _image_error(detail: str, advice: str) -> LabError:
    return LabError(detail, step="image build", failure_class=FailureClass.IMAGE, advice=advice)


def debian_mirror(sources: Path = Path("/etc/apt")) -> str:
    """The first Debian mirror in the host's apt sources (deb822 or one-line format)."""
    candidates = sorted(sources.glob("sources.list.d/*.sources")) + [sources / "sources.list"]
    for path in candidates:
        try:
            text = path.read_text()
        except OSError:
            continue
        for line in text.splitlines():
            words = line.split()
            if words[:1] == ["URIs:"] and len(words) > 1 and "security" not in words[1]:
                return words[1]
            if words[:1] == ["deb"]:
                uri = next((w for w in words[1:] if "://" in w), "")
                if uri and "security" not in uri:
                    return uri
    return DEFAULT_MIRROR


def base_tag(arch: str) -> str:
    return f"hil-base:{SUITE}-{arch}"


def ensure_base(client: docker.DockerClient, arch: str, say: Say) -> str:
    """The base image for ``arch``, debootstrapped and imported if absent."""
    tag = base_tag(arch)
    try:
        client.images.get(tag)
        return tag
    except ImageNotFound:
        pass
    rootfs = Path(tempfile.mkdtemp(prefix=f"rootfs-{arch}-", dir=state_dir()))
    try:
        mirror = debian_mirror()
        say(f"debootstrap {SUITE} {arch} from {mirror} (amd64 ~1 min, arm64 ~4 min under qemu)")
        run_controller(["debootstrap", "--variant=minbase", f"--arch={arch}",
                        f"--include={','.join(BASE_PACKAGES)}", SUITE, str(rootfs), mirror], DEBOOTSTRAP_TIMEOUT,
                       step="image build", failure_class=FailureClass.IMAGE,
                       advice=f"check the Debian mirror ({mirror}); for arm64, qemu-aarch64 in binfmt_misc "
                              "with flag F")
        (rootfs / "var/cache/apt/archives").mkdir(parents=True, exist_ok=True)
        for deb in (rootfs / "var/cache/apt/archives").glob("*.deb"):
            deb.unlink()
        say(f"importing {tag}")
        tar = subprocess.Popen(["tar", "-C", str(rootfs), "-c", "."], stdout=subprocess.PIPE)
        try:
            client.api.import_image_from_stream(tar.stdout, repository=tag.split(":")[0], tag=tag.split(":")[1])
        finally:
            tar.stdout.close()
            tar.wait(timeout=60)
        return tag
    finally:
        shutil.rmtree(rootfs, ignore_errors=True)


@dataclass
class Layer:
    """One directory of devices/images/layers, as its layer.yaml describes it."""

    path: Path
    description: str = ""
    wheels: list[str] = field(default_factory=list)
    copy: list[str] = field(default_factory=list)
    host_files: list[str] = field(default_factory=list)

    @property
    def name(self) -> str:
        return self.path.name

    @classmethod
    def load(cls, path: Path) -> Layer:
        spec = yaml.safe_load((path / "layer.yaml").read_text()) or {}
        unknown = set(spec) - {"description", "wheels", "copy", "host_files"}
        if unknown:
            raise _image_error(f"{path}/layer.yaml: unknown keys {sorted(unknown)}",
                               "see devices/images/README.md for the layer format")
        return cls(path, **spec)


def layers(root: Path = LAYERS_DIR) -> list[Layer]:
    return [Layer.load(p) for p in sorted(root.iterdir()) if (p / "layer.yaml").exists()]


def _host_files(ref: str, arch: str, dest: Path, options: dict[str, str]) -> None:
    module, _, func = ref.partition(":")
    getattr(importlib.import_module(module), func)(arch, dest, options)


def _files_digest(root: Path) -> Iterator[str]:
    for path in sorted(p for p in root.rglob("*") if p.is_file()):
        yield f"{path.relative_to(root)}:{sha256_file(path)}"


def _source_files(layer: Layer) -> Iterator[Path]:
    """The files a layer is made from: its directory, what it copies, the package of its host_files hooks."""
    roots = [layer.path, *(resources.code_root() / rel for rel in layer.copy)]
    for ref in layer.host_files:
        spec = importlib.util.find_spec(ref.partition(":")[0])
        if spec is not None and spec.origin:
            roots.append(Path(spec.origin).parent)
    for root in roots:
        if root.is_file():
            yield root
        else:
            yield from sorted(p for p in root.rglob("*") if p.is_file() and "__pycache__" not in p.parts)


def sources_key(arch: str, options: dict[str, str]) -> str:
    """A key of everything a core image is built from that lives in this tree (not the downloads).

    Cheap next to staging the image: it tells a resumed bring-up whether the image it recorded
    still matches the layers, without building anything.
    """
    code = resources.code_root()
    return stable_key([arch, sorted(options.items()),
                       [f"{p.relative_to(code) if p.is_relative_to(code) else p}:{sha256_file(p)}"
                        for layer in layers()
                        for p in _source_files(layer)]], 16)


def _stage_layer(layer: Layer, arch: str, options: dict[str, str], dest: Path) -> None:
    shutil.copytree(layer.path, dest)
    for rel in layer.copy:
        src = resources.code_root() / rel
        target = dest / rel
        if src.is_dir():
            shutil.copytree(src, target, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
        else:
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, target)
    for ref in layer.host_files:
        _host_files(ref, arch, dest, options)


def dockerfile(base: str, arch: str, options: dict[str, str], staged: list[tuple[Layer, list[Path]]]) -> str:
    env = {"ARCH": arch, "HIL_VENV": "/opt/hil/venv", "HIL_DEVICE_USER": "hil"}
    if arch == "arm64":
        env["QEMU_CPU"] = "cortex-a72"  # qemu's default CPU makes OpenBLAS pick SVE kernels, ~400x slower
    env.update({f"HIL_OPT_{k.upper()}": v for k, v in sorted(options.items())})
    lines = [f"FROM {base}", "ENV " + " ".join(f"{k}={json.dumps(v)}" for k, v in env.items())]
    for layer, wheels in staged:
        pip = ""
        if wheels:
            names = " ".join(f"wheels/{w.name}" for w in wheels)
            pip = f'"$HIL_VENV/bin/pip" install --quiet --no-index --no-deps {names} && '
        lines += [f"COPY {layer.name} /tmp/layer",
                  f"RUN cd /tmp/layer && {pip}sh ./install.sh && cd / && rm -rf /tmp/layer"]
    lines.append('ENTRYPOINT ["/opt/hil/bin/entrypoint"]')
    return "\n".join(lines) + "\n"


def ensure_core(client: docker.DockerClient, arch: str, options: dict[str, str], say: Say) -> str:
    """The core image for (arch, options), built from the layers if no image has the same inputs."""
    base = ensure_base(client, arch, say)
    context = Path(tempfile.mkdtemp(prefix=f"core-{arch}-", dir=state_dir()))
    try:
        staged: list[tuple[Layer, list[Path]]] = []
        for layer in layers():
            dest = context / layer.name
            _stage_layer(layer, arch, options, dest)
            wheels = download(layer.wheels, arch, say=say) if layer.wheels else []
            if wheels:
                (dest / "wheels").mkdir()
                for wheel in wheels:
                    shutil.copy2(wheel, dest / "wheels" / wheel.name)
            staged.append((layer, wheels))
        text = dockerfile(base, arch, options, staged)
        (context / "Dockerfile").write_text(text)
        digest = sha256_bytes("\n".join([base, *_files_digest(context)]).encode())[:12]
        tag = f"hil-core:{arch}-{digest}"
        try:
            client.images.get(tag)
            return tag
        except ImageNotFound:
            pass
        say(f"building {tag} ({len(staged)} layers)")
        try:
            for chunk in client.api.build(path=str(context), tag=tag, rm=True, forcerm=True, decode=True,
                                          pull=False):
                if "stream" in chunk and chunk["stream"].startswith("Step "):
                    say(f"  {arch}: {chunk['stream'].strip()[:100]}")
                if "error" in chunk:
                    raise BuildError(chunk["error"], [])
        except (BuildError, DockerException) as exc:
            raise _image_error(f"docker build of {tag} failed: {exc}",
                               "the failing layer's install.sh is named in the step above") from exc
        return tag
    finally:
        shutil.rmtree(context, ignore_errors=True)
