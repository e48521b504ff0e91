"""The TVM runtime a device needs to serve MetaSchedule's RPC runner, staged without changing its image.

The device venv has DLR, not TVM. The controller downloads the apache-tvm and apache-tvm-ffi wheels of
the device's arch at the controller's own versions (an RPC client and server must speak the same
protocol), plus the pure/ABI3 packages ``import tvm`` and ``tvm.rpc.server`` need (ml_dtypes,
typing_extensions; cloudpickle for ``PopenWorker``, psutil for killing a timed-out session). It unpacks
them into one tarball without ``libtvm_compiler.so`` (260 MB, and the server runs runtime-only:
``TVM_USE_RUNTIME_LIB=1`` in ``tvm/base.py`` loads ``libtvm_runtime.so`` alone). The tarball is cached
under the state dir, keyed by the wheels' names.
"""

from __future__ import annotations

import io
import os
import tarfile
import tempfile
import zipfile
from importlib import metadata
from pathlib import Path

from harness.compile.errors import CompileError
from harness.errors import FailureClass
from harness.lab import wheels
from harness.lab.paths import state_dir
from harness.primitives import arch
from harness.primitives.digest import stable_key
from harness.primitives.progress import Say, quiet

#: Projects pinned to the controller's installed version: the compiler's own, and what the server imports.
SAME_AS_CONTROLLER = ("apache-tvm", "apache-tvm-ffi", "ml_dtypes", "typing_extensions", "cloudpickle", "psutil")
#: Wheel members the runtime-only server never loads (the compiler; CUDA; headers, sources).
LEFT_OUT = ("tvm/lib/libtvm_compiler.so", "tvm/lib/libtvm_runtime_cuda.so")
LEFT_OUT_DIRS = ("tvm/include/", "tvm_ffi/include/", "tvm/3rdparty/", "tvm_ffi/cmake/", "tvm/src/")
#: ``libtvm_runtime_extra.so`` registers ``tvm.contrib.random.random_fill_for_measure``, which the RPC runner
#: fills its arguments with (tvm/s_tir/meta_schedule/runner/rpc_runner.py default_alloc_argument); the
#: runtime-only import does not load it (tvm/backend/_autoload_backends.py), so the server's
#: ``--load-library`` does.
EXTRA_LIBRARY = "tvm/lib/libtvm_runtime_extra.so"


def requirements(versions: dict[str, str] | None = None) -> list[str]:
    """``name==version`` for each project the device needs, at the versions installed here."""
    have = versions if versions is not None else _installed(SAME_AS_CONTROLLER)
    missing = [name for name in SAME_AS_CONTROLLER if name not in have]
    if missing:
        raise CompileError(f"{', '.join(missing)} not installed on this controller: the device's TVM RPC server "
                           f"is staged at the controller's versions", step="rpc runtime",
                           advice="pip install 'edge-hil[tune]'")
    return [f"{name}=={have[name]}" for name in SAME_AS_CONTROLLER]


def _installed(names: tuple[str, ...]) -> dict[str, str]:
    found = {}
    for name in names:
        try:
            found[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            pass
    return found


def wheels_for(machine: str, say: Say = quiet) -> list[Path]:
    """The runtime wheels for ``machine`` (any spelling), downloaded once into the wheel cache."""
    return wheels.download(requirements(), machine, deps=False, say=say, step="rpc runtime wheels",
                           error=CompileError, failure_class=FailureClass.TRANSFER)


def kept(member: str) -> bool:
    """Whether a wheel member goes to the device: package files, not the compiler, headers or metadata."""
    if member.endswith("/") or ".dist-info/" in member or member.startswith("../") or member.startswith("/"):
        return False
    return member not in LEFT_OUT and not member.startswith(LEFT_OUT_DIRS)


def bundle(machine: str, say: Say = quiet) -> Path:
    """A tar.gz of the unpacked runtime wheels for ``machine`` (a site dir), built once per wheel set."""
    files = wheels_for(machine, say)
    row = arch.arch(machine)
    folder = state_dir() / "rpc-runtime"
    out = folder / f"{row.machine}-{stable_key(sorted(f.name for f in files), 16)}.tar.gz"
    if out.exists():
        return out
    folder.mkdir(parents=True, exist_ok=True)
    say(f"packing the TVM runtime for {row.machine} into {out}")
    fd, tmp = tempfile.mkstemp(prefix=".bundle-", dir=folder)
    try:
        with os.fdopen(fd, "wb") as raw, tarfile.open(fileobj=raw, mode="w:gz", compresslevel=1) as tar:
            for wheel in files:
                with zipfile.ZipFile(wheel) as zf:
                    for info in zf.infolist():
                        if not kept(info.filename):
                            continue
                        entry = tarfile.TarInfo(info.filename)
                        entry.size = info.file_size
                        entry.mode = 0o755 if info.filename.endswith(".so") or ".so." in info.filename else 0o644
                        with zf.open(info) as member:
                            tar.addfile(entry, io.BytesIO(member.read()))
        os.replace(tmp, out)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return out
