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
import re
import zipfile
from dataclasses import dataclass
from pathlib import Path

from harness.errors import FailureClass, HilError
from harness.lab.wheels import download
from harness.primitives import arch as arches
from harness.primitives.progress import Say

#: Machines apache-tvm publishes Linux wheels for: the ones the lab emulates.
ARCHES = tuple(arches.emulatable())


class RuntimeBuildError(HilError):
    """The project's libdlr could not be built on this host (tools, wheels, compiler)."""

    failure_class = FailureClass.HOST_SETUP


@dataclass(frozen=True)
class RuntimePin:
    """One DLR runtime ABI: the TVM release and the tvm-ffi release its wheel was built with."""

    abi: str
    tvm: str
    tvm_ffi: str


# apache-tvm 0.27.0.post1 requires apache-tvm-ffi>=0.1.14.post0 (with 0.1.15.post2 it segfaults);
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
    return download([f"{project}=={version}"], arch, deps=False, say=say, step="libdlr wheels",
                    error=RuntimeBuildError, failure_class=FailureClass.HOST_SETUP)[0]


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
