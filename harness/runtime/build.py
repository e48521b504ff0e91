"""Build the project's libdlr.so (DLR 1.10 C API over the TVM runtime) for one architecture and runtime.

The PyPI ``dlr`` wheel is only a ctypes wrapper; the device needs a ``libdlr.so`` matched to the
compiler that produced its models. This builds one from ``harness/runtime/src`` against the
``libtvm_runtime.so``/``libtvm_ffi.so`` of the apache-tvm wheels for the target architecture, with
``g++`` or the Debian cross compiler, rpath ``$ORIGIN`` so the three files travel together. Every
build is link-checked (``--no-undefined`` and a probe linked with ``--no-allow-shlib-undefined``
against the toolchain's libc/libstdc++) and cached by a digest of sources, wheels and compiler.
"""

from __future__ import annotations

import hashlib
import os
import platform
import shutil
import sys
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from harness.errors import FailureClass
from harness.lab.paths import state_dir
from harness.primitives import arch as arches
from harness.primitives.hostcmd import run_controller
from harness.primitives.progress import Say
from harness.runtime.wheels import (
    RuntimeBuildError,
    check_arch,
    extract,
    fetch_wheel,
    release,
    runtime_pin,
    wheel_version,
)

SRC = Path(__file__).parent / "src"
PROBE = Path(__file__).parent / "probe" / "dlr_probe.c"
LIBS = ("libdlr.so", "libtvm_runtime.so", "libtvm_ffi.so")
COMPILE_TIMEOUT = 600.0



def say_stderr(line: str) -> None:
    print(f"[libdlr] {line}", file=sys.stderr, flush=True)


@dataclass(frozen=True)
class RuntimeSdk:
    """What a libdlr compiles and links against: extracted from the two wheels."""

    arch: str
    abi: str
    tvm_release: str
    wheels: tuple[Path, Path]
    root: Path

    @property
    def lib_dirs(self) -> tuple[Path, Path]:
        return self.root / "tvm" / "lib", self.root / "tvm_ffi" / "lib"

    @property
    def include_dir(self) -> Path:
        return self.root / "tvm_ffi" / "include"


def _publish_dir(work: Path, final: Path) -> None:
    """Move a finished directory into place atomically; a concurrent builder that won keeps its copy
    (the loser's TemporaryDirectory removes ``work``)."""
    try:
        os.rename(work, final)
    except OSError:
        if not final.is_dir():
            raise


def runtime_sdk(arch: str, runtime: str, say: Say = say_stderr) -> RuntimeSdk:
    """Fetch and unpack the runtime libraries and tvm-ffi headers of ``runtime`` for ``arch``.

    The apache-tvm wheel ships only part of TVM's C++ headers (tvm/runtime/tensor.h includes a
    tvm/support header it lacks), so libdlr uses the tvm-ffi C++ API alone and links
    libtvm_runtime for the Relax VM it registers.
    """
    check_arch(arch)
    pin = runtime_pin(runtime)
    tvm_whl = fetch_wheel("apache-tvm", pin.tvm, arch, say)
    ffi_whl = fetch_wheel("apache-tvm-ffi", pin.tvm_ffi, arch, say)
    root = state_dir() / "runtime" / "sdk" / f"{arch}-tvm{wheel_version(tvm_whl)}-ffi{wheel_version(ffi_whl)}"
    sdk = RuntimeSdk(arch, pin.abi, release(wheel_version(tvm_whl)), (tvm_whl, ffi_whl), root)
    if not root.exists():
        say(f"extracting the TVM {sdk.tvm_release} runtime for {arch}")
        root.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory(prefix=f".{root.name}-", dir=root.parent) as tmp:
            extract(tvm_whl, ("tvm/lib/libtvm_runtime.so",), Path(tmp))
            extract(ffi_whl, ("tvm_ffi/lib/libtvm_ffi.so", "tvm_ffi/include/"), Path(tmp))
            _publish_dir(Path(tmp), root)
    abi = "tvm-" + ".".join(sdk.tvm_release.split(".")[:2])
    if abi != pin.abi:
        raise RuntimeBuildError(f"wheel {tvm_whl.name} is TVM {sdk.tvm_release}, not {pin.abi}",
                                step="libdlr wheels", failure_class=FailureClass.ARTIFACT)
    return sdk


def compiler_for(arch: str) -> str:
    """The C++ compiler that produces ``arch`` code on this host, or a typed error naming the package."""
    check_arch(arch)
    native = platform.machine() == arch
    row = arches.arch(arch)
    cross, package = row.cxx, row.cxx_package
    for cxx in ("g++", cross) if native else (cross,):
        if shutil.which(cxx):
            return cxx
    raise RuntimeBuildError(f"no C++ compiler for {arch} on this host ({cross} not found)",
                            step="libdlr build", advice=f"apt-get install {package}")


def _run(cmd: list[str], what: str) -> str:
    return run_controller(cmd, COMPILE_TIMEOUT, step=f"libdlr build: {what}", failure_class=FailureClass.COMPILE,
                          error=RuntimeBuildError,
                          advice="the compiler's last lines are quoted; the sources are harness/runtime/src")


def _build_key(sdk: RuntimeSdk, cxx: str) -> str:
    h = hashlib.sha256()
    for path in sorted(SRC.iterdir()) + [PROBE, Path(__file__)]:
        h.update(path.name.encode() + b"\0" + path.read_bytes())
    for wheel in sdk.wheels:
        h.update(wheel.name.encode())
    h.update(_run([cxx, "--version"], f"{cxx} --version").encode())
    return h.hexdigest()[:16]


def _compile(sdk: RuntimeSdk, cxx: str, work: Path, say: Say) -> None:
    for lib_dir in sdk.lib_dirs:
        for lib in lib_dir.glob("*.so"):
            shutil.copy2(lib, work / lib.name)
    say(f"compiling libdlr.so for {sdk.arch} against TVM {sdk.tvm_release} with {cxx}")
    _run([cxx, "-std=c++17", "-O2", "-fPIC", "-shared", "-fvisibility=hidden", "-Wall",
          f'-DHIL_TVM_VERSION="{sdk.tvm_release}"', f'-DHIL_RUNTIME_ABI="{sdk.abi}"',
          f"-I{sdk.include_dir}", *map(str, sorted(SRC.glob("*.cc"))), "-o", str(work / "libdlr.so"),
          f"-L{work}", "-Wl,--no-as-needed", "-ltvm_runtime", "-ltvm_ffi", "-Wl,--as-needed",
          "-Wl,-rpath,$ORIGIN", "-Wl,--no-undefined"], "compiling libdlr.so")
    say("link check: probe linked with --no-allow-shlib-undefined")
    _run([cxx, "-x", "c", "-O1", str(PROBE), "-x", "none", "-o", str(work / "dlr_probe"), f"-L{work}", "-ldlr",
          "-Wl,-rpath,$ORIGIN", f"-Wl,-rpath-link,{work}", "-Wl,--no-allow-shlib-undefined"],
         "linking dlr_probe against libdlr.so")


def build_libdlr(arch: str, runtime: str = "tvm-0.27", out_dir: Path | str = ".", *,
                 probe: bool = False, say: Say = say_stderr) -> Path:
    """Build (or take from the cache) libdlr.so for ``arch``/``runtime``; copy it and the TVM runtime
    libraries it needs into ``out_dir`` (and ``dlr_probe`` with ``probe``). Returns ``out_dir/libdlr.so``."""
    sdk = runtime_sdk(arch, runtime, say)
    cxx = compiler_for(arch)
    key = _build_key(sdk, cxx)
    cached = state_dir() / "runtime" / "libdlr" / f"{arch}-{runtime}-{key}"
    if cached.exists():
        say(f"cached build {cached}")
    else:
        cached.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory(prefix=f".{cached.name}-", dir=cached.parent) as work:
            _compile(sdk, cxx, Path(work), say)
            _publish_dir(Path(work), cached)
        say(f"built {cached}")
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    for name in LIBS + (("dlr_probe",) if probe else ()):
        shutil.copy2(cached / name, out / name)
    return out / "libdlr.so"


def image_files(arch: str, dest: Path | str, options: Mapping[str, str]) -> None:
    """``host_files`` hook of the 30-dlr-runtime image layer: libdlr + TVM runtime for a core's arch."""
    try:
        machine = arches.from_docker(arch)
    except arches.UnknownArch as exc:
        raise RuntimeBuildError(str(exc), step="image libdlr", failure_class=FailureClass.IMAGE,
                                advice="use amd64 or arm64") from None
    build_libdlr(machine, options.get("runtime", "tvm-0.27"), dest)
