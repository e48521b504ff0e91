"""The offline Neo: Relax IRModule → tvm.compile → export_library with the target's (cross) g++.

``COMPILES`` counts real compilations so tests can prove a cache hit compiled nothing.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from functools import cache
from importlib import metadata
from pathlib import Path

from harness.artifact.meta import TensorSpec
from harness.compile.errors import CompileError
from harness.compile.targets import ResolvedTarget
from harness.primitives.hostcmd import tail

#: Incremented once per real compilation (never on a cache hit).
COMPILES = 0
LINK_OPTIONS = ["-Wl,--no-as-needed", "-lm"]  # link libm explicitly, else C hosts miss expf
CC_VERSION_TIMEOUT = 20.0
ENTRY = "main"


@cache
def compiler_versions() -> dict[str, str]:
    """Versions recorded in compiled.meta: the TVM *release* ("0.27.0" for 0.27.0.post1), as runtimes report it."""
    import tvm
    import tvm_ffi
    from tvm.target import codegen

    release = re.match(r"\d+\.\d+\.\d+", tvm.__version__)
    return {"tvm": release.group(0) if release else tvm.__version__, "tvm_ffi": tvm_ffi.__version__,
            "llvm": str(codegen.llvm_version_major())}


@cache
def toolchain_id() -> dict[str, str]:
    """What identifies the compiler in the cache key: the installed apache-tvm and apache-tvm-ffi packages
    (post releases included; the wheel bundles its LLVM), read from package metadata so that a cache hit
    never imports TVM, which costs a second of CPU in every process. A TVM built from source has no
    package metadata and is asked directly."""
    try:
        return {dist: metadata.version(dist) for dist in ("apache-tvm", "apache-tvm-ffi")}
    except metadata.PackageNotFoundError:
        import tvm

        return {**compiler_versions(), "tvm_package": tvm.__version__}


def dlr_abi() -> str:
    """"tvm-<major>.<minor>" of the compiling TVM: the runtime ABI a libdlr must match."""
    major, minor = compiler_versions()["tvm"].split(".")[:2]
    return f"tvm-{major}.{minor}"


@cache
def cc_version(cc: str) -> str:
    """First line of ``cc --version``; a missing cross compiler is a CompileError with the apt package."""
    path = shutil.which(cc)
    if path is None:
        pkg = "g++" if cc == "g++" else "g++-" + cc.removesuffix("-g++").replace("_", "-")
        raise CompileError(f"cross compiler {cc} not found", step="compile",
                           advice=f"apt-get install {pkg}")
    try:
        out = subprocess.run([path, "--version"], capture_output=True, text=True, timeout=CC_VERSION_TIMEOUT)
    except subprocess.TimeoutExpired:
        raise CompileError(f"{cc} --version did not answer in {CC_VERSION_TIMEOUT:g} s", step="compile") from None
    return (out.stdout.splitlines() or ["unknown"])[0]


def output_specs(mod, names: list[str]) -> list[TensorSpec]:  # mod: tvm.IRModule
    """Static output shapes from the Relax ``main`` return type (a tensor or a tuple of tensors)."""
    from tvm import relax

    ret = mod[ENTRY].ret_ty
    fields = list(ret.fields) if isinstance(ret, relax.TupleType) else [ret]
    specs = []
    for i, f in enumerate(fields):
        if not isinstance(f, relax.TensorType) or f.shape is None or not hasattr(f.shape, "values"):
            raise CompileError(f"output {i} has no static shape after binding the InputConfig", step="compile",
                               advice="give every dynamic input dimension a value in DataInputConfig")
        try:
            shape = [int(v) for v in f.shape.values]
        except (TypeError, ValueError):
            raise CompileError(f"output {i} shape {f.shape} is not static", step="compile") from None
        name = names[i] if i < len(names) else f"output{i}"
        specs.append(TensorSpec(name=name, shape=shape, dtype=str(f.dtype)))
    return specs


def build(mod, target: ResolvedTarget, out_so: Path, *, pipeline=None) -> None:
    """Compile ``mod`` for ``target`` and write the shared library to ``out_so``.

    ``pipeline`` replaces TVM's default Relax pipeline (the tuned build applies a tuning database in it)."""
    global COMPILES
    import tvm
    from tvm.support import cc

    compiler = target.compiler_command()
    cc_version(compiler)
    COMPILES += 1
    try:
        executable = tvm.compile(mod, target=tvm.target.Target(target.tvm), relax_pipeline=pipeline or "default")
    except Exception as exc:  # TVMError / ValueError from lowering
        first = (str(exc).strip().splitlines() or [type(exc).__name__])[-1][:300]
        raise CompileError(f"TVM compilation for {target.neo} failed: {first}", step="compile") from None
    try:
        executable.export_library(str(out_so), fcompile=cc.cross_compiler(compiler, options=LINK_OPTIONS))
    except Exception as exc:  # RuntimeError carrying the compiler's stderr
        raise CompileError(f"linking with {compiler} failed: {tail(str(exc))[:400]}", step="compile",
                           advice=f"check that {compiler} and its libc dev files are installed") from None
