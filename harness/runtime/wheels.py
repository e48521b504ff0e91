"""The TVM runtime a libdlr links against, taken from the apache-tvm wheels of the target architecture.

Neo pairs every DLR release with one compiler release; here the pair is an apache-tvm wheel and the
apache-tvm-ffi wheel it was built with. Wheels are fetched with ``pip download`` for the target's
platform (so an aarch64 runtime comes from the aarch64 wheel, not the host's), cached, and only the
runtime libraries and the tvm-ffi headers are extracted, each checked against the wheel's RECORD.
"""

from __future__ import annotations

import base64
import csv
import hashlib
import io
import os
import re
import subprocess
import sys
import tempfile
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from harness.errors import FailureClass, HilError
from harness.lab.paths import state_dir
from harness.lab.wheels import PYTHON_VERSION, manylinux_platforms

Say = Callable[[str], None]

ARCHES = ("x86_64", "aarch64")
PIP_TIMEOUT = 900.0


class RuntimeBuildError(HilError):
    """The project's libdlr could not be built on this host (tools, wheels, compiler)."""

    failure_class = FailureClass.HOST_SETUP


@dataclass(frozen=True)
class RuntimePin:
    """One DLR runtime ABI: the TVM release and the tvm-ffi release its wheel was built with."""

    abi: str
    tvm: str
    tvm_ffi: str


# apache-tvm 0.27.0.post1 requires apache-tvm-ffi>=0.1.14.post0 (0.1.15.post2 segfaults: FACTS);
# 0.26.0 requires >=0.1.13.post2, the release it was built with.
RUNTIMES: dict[str, RuntimePin] = {
    "tvm-0.27": RuntimePin("tvm-0.27", "0.27.0.post1", "0.1.14.post0"),
    "tvm-0.26": RuntimePin("tvm-0.26", "0.26.0", "0.1.13.post2"),
}


def runtime_pin(runtime: str) -> RuntimePin:
    try:
        return RUNTIMES[runtime]
    except KeyError:
        raise RuntimeBuildError(
            f"unknown DLR runtime {runtime!r}", step="libdlr build", failure_class=FailureClass.INVENTORY,
            advice=f"use one of: {', '.join(RUNTIMES)}") from None


def check_arch(arch: str) -> str:
    if arch not in ARCHES:
        raise RuntimeBuildError(
            f"unknown architecture {arch!r}", step="libdlr build", failure_class=FailureClass.INVENTORY,
            advice=f"use one of: {', '.join(ARCHES)}")
    return arch


def release(version: str) -> str:
    """'0.27.0.post1' -> '0.27.0': the TVM release a runtime reports and compiled.meta records."""
    m = re.match(r"(\d+)\.(\d+)\.(\d+)", version)
    if not m:
        raise RuntimeBuildError(f"cannot read a TVM release from version {version!r}", step="libdlr build")
    return m.group(0)


def fetch_wheel(project: str, version: str, arch: str, say: Say) -> Path:
    """The cached wheel of ``project==version`` for ``arch`` (CPython 3.11 ABI), downloading it once."""
    check_arch(arch)
    folder = state_dir() / "wheels" / arch
    pattern = f"{project.replace('-', '_')}-{version}-*{arch}*.whl"
    found = sorted(folder.glob(pattern))
    if found:
        return found[0]
    folder.mkdir(parents=True, exist_ok=True)
    say(f"downloading {project}=={version} for {arch} into {folder}")
    # into a private directory first: a concurrent build must never see a half-written wheel
    with tempfile.TemporaryDirectory(prefix=".download-", dir=folder) as tmp:
        cmd = [sys.executable, "-m", "pip", "download", "--only-binary=:all:", "--no-deps", "--quiet",
               "--python-version", PYTHON_VERSION, "-d", tmp, f"{project}=={version}"]
        for tag in manylinux_platforms(arch):
            cmd += ["--platform", tag]
        try:
            done = subprocess.run(cmd, capture_output=True, text=True, timeout=PIP_TIMEOUT, check=False)
        except subprocess.TimeoutExpired:
            raise RuntimeBuildError(f"pip download {project}=={version} ({arch}) took over {PIP_TIMEOUT:.0f} s",
                                    step="libdlr wheels", failure_class=FailureClass.TIMEOUT,
                                    advice="check the PyPI mirror (pip config list)") from None
        got = sorted(Path(tmp).glob(pattern))
        if done.returncode != 0 or not got:
            tail = (done.stderr or done.stdout).strip().splitlines()[-1:] or ["no wheel saved"]
            raise RuntimeBuildError(f"pip download {project}=={version} ({arch}) failed: {tail[0]}",
                                    step="libdlr wheels",
                                    advice="check the PyPI mirror (pip config list) and that the version exists "
                                           f"for manylinux {arch}")
        os.replace(got[0], folder / got[0].name)
    return folder / got[0].name


def wheel_version(wheel: Path) -> str:
    return wheel.name.split("-")[1]


def _record(zf: zipfile.ZipFile) -> dict[str, str]:
    """member -> 'sha256=<urlsafe b64>' from the wheel's RECORD."""
    name = next((n for n in zf.namelist() if n.endswith(".dist-info/RECORD")), None)
    if name is None:
        raise RuntimeBuildError(f"{zf.filename}: wheel has no RECORD", step="libdlr wheels",
                                failure_class=FailureClass.ARTIFACT, advice="delete it from the cache")
    rows = csv.reader(io.StringIO(zf.read(name).decode()))
    return {row[0]: row[1] for row in rows if len(row) >= 2 and row[1]}


def extract(wheel: Path, prefixes: tuple[str, ...], dest: Path) -> list[Path]:
    """Extract the members under ``prefixes`` into ``dest``, confined to it and digest-checked."""
    dest = dest.resolve()
    out = []
    with zipfile.ZipFile(wheel) as zf:
        record = _record(zf)
        for member in zf.namelist():
            if member.endswith("/") or not member.startswith(prefixes):
                continue
            target = (dest / member).resolve()
            if not target.is_relative_to(dest):
                raise RuntimeBuildError(f"{wheel.name}: member {member!r} escapes the extraction directory",
                                        step="libdlr wheels", failure_class=FailureClass.ARTIFACT,
                                        advice="delete the wheel from the cache; it is not a genuine wheel")
            data = zf.read(member)
            digest = "sha256=" + base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
            if record.get(member) != digest:
                raise RuntimeBuildError(f"{wheel.name}: {member} does not match its RECORD digest",
                                        step="libdlr wheels", failure_class=FailureClass.ARTIFACT,
                                        advice=f"delete {wheel} so it is downloaded again")
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(data)
            out.append(target)
    if not out:
        raise RuntimeBuildError(f"{wheel.name} has nothing under {', '.join(prefixes)}", step="libdlr wheels",
                                failure_class=FailureClass.ARTIFACT)
    return out
