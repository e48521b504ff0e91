"""Will this artifact run on this device? Each check says why not, and what to do, in Neo/DLR words.

``evaluate`` is pure (meta + facts → verdicts); ``run_preflight`` gathers the facts over a transport.
"""

from __future__ import annotations

from pathlib import Path

from harness.artifact.elf import read_elf
from harness.artifact.meta import SO_NAME, ArtifactMeta
from harness.artifact.verdict import Verdict
from harness.lab.device import DEVICE_PYTHON
from harness.preflight.facts import DeviceFacts, gather_facts
from harness.primitives.arch import UnknownArch, machine
from harness.transport.base import Transport

#: Resident memory of the TVM runtime + DLR wrapper + Python beyond the model itself (measured order of
#: magnitude for the tiny CNN: ~30 MiB RSS); the check is a floor, not a prediction.
RUNTIME_OVERHEAD = 32 << 20
#: Input/output buffers plus intermediate activations, as a multiple of the input+output bytes.
TENSOR_FACTOR = 4
#: ARM "CPU part" → (core, the TargetDevice built for that core or None).
CPU_PARTS: dict[str, tuple[str, str | None]] = {
    "0xd03": ("Cortex-A53", "imx8qm"), "0xd04": ("Cortex-A35", None), "0xd05": ("Cortex-A55", "qcs605"),
    "0xd07": ("Cortex-A57", "jetson_nano"), "0xd08": ("Cortex-A72", "rasp4b"), "0xd09": ("Cortex-A73", None),
    "0xd0b": ("Cortex-A76", None), "0xd0c": ("Neoverse-N1", "ml_c6g"), "0x004": ("Carmel", "jetson_xavier"),
}
_DTYPE_BYTES = {"float32": 4, "float16": 2, "float64": 8, "int8": 1, "uint8": 1, "int16": 2, "int32": 4,
                "int64": 8, "bool": 1}


def device_arch(facts: DeviceFacts) -> str | None:
    """The device's ``uname -m`` in the table's spelling (``arm64`` → ``aarch64``); unknown names as given."""
    if not facts.arch:
        return facts.arch
    try:
        return machine(facts.arch)
    except UnknownArch:
        return facts.arch


def suggest_target(facts: DeviceFacts) -> str:
    """The Neo target a model for this device should be compiled with."""
    arch, flags = device_arch(facts), facts.cpu_flags
    if arch == "x86_64":
        if "avx512f" in flags:
            return "TargetDevice=ml_c5"
        return "TargetDevice=ml_c4" if "avx2" in flags else 'TargetPlatform={"Os":"LINUX","Arch":"X86_64"}'
    if arch == "aarch64":
        device = CPU_PARTS.get(facts.cpu_part or "", ("", None))[1]
        return f"TargetDevice={device}" if device else 'TargetPlatform={"Os":"LINUX","Arch":"ARM64"}'
    if arch == "armv7l":
        return "TargetDevice=rasp3b" if "neon" in flags else 'TargetPlatform={"Os":"LINUX","Arch":"ARM_EABIHF"}'
    return f"a TargetPlatform for {facts.arch or 'this architecture'}"


def evaluate(meta: ArtifactMeta, facts: DeviceFacts, *, glibc_required: tuple[int, int] | None = None) -> list[Verdict]:
    """Checks in the order a failure would show up on the device: load, first instruction, runtime, memory."""
    arch = _arch(meta, facts)
    if not arch.ok:  # nothing else matters until the library can load at all
        return [arch, _runtime(meta, facts), _memory(meta, facts)]
    verdicts = [arch, _cpu(meta, facts), _runtime(meta, facts)]
    if glibc_required is not None:
        verdicts.append(_glibc(glibc_required, facts))
    verdicts.append(_memory(meta, facts))
    return verdicts


def _arch(meta: ArtifactMeta, facts: DeviceFacts) -> Verdict:
    want, have = meta.target.arch, device_arch(facts)
    compiled = f"model compiled for {want} ({meta.target.neo})"
    if have == want:
        return Verdict("arch", True, f"{compiled}, this device is {facts.arch}")
    if have is None:
        return Verdict("arch", False, f"{compiled}, this device's architecture is unknown (uname -m failed)",
                       "check that the device answers `uname -m`")
    symptom = ("wrong ELF class: ELFCLASS32" if want == "armv7l" and have in ("x86_64", "aarch64")
               else "cannot open shared object file: No such file or directory")
    return Verdict("arch", False, f"{compiled}, this device is {facts.arch} — loading would fail with "
                   f"\"{symptom}\"", f"recompile with {suggest_target(facts)}")


def _cpu(meta: ArtifactMeta, facts: DeviceFacts) -> Verdict:
    need = meta.target.cpu_features
    if not need:
        return Verdict("cpu", True, f"{meta.target.neo} needs only the baseline {meta.target.arch} ISA")
    if not facts.cpu_flags:
        return Verdict("cpu", False, "could not read CPU features from /proc/cpuinfo",
                       "check that /proc is mounted on the device")
    missing = [f for f in need if f not in facts.cpu_flags]
    if not missing:
        return Verdict("cpu", True, f"device has {', '.join(need)} required by {meta.target.neo}")
    advice = f"recompile with {suggest_target(facts)}"
    return Verdict("cpu", False, f"model compiled for {meta.target.neo} may use {', '.join(missing)}, which this "
                   f"device's CPU ({cpu_name(facts)}) lacks — such code dies with \"Illegal instruction\" "
                   "(exit 132)", advice)


def cpu_name(facts: DeviceFacts) -> str:
    if facts.cpu_model:
        return facts.cpu_model
    if facts.cpu_part:
        core = CPU_PARTS.get(facts.cpu_part, (None,))[0]
        return f"{core} ({facts.cpu_part})" if core else f"CPU part {facts.cpu_part}"
    return "unknown"


def _runtime(meta: ArtifactMeta, facts: DeviceFacts) -> Verdict:
    want = meta.runtime.dlr_abi
    tvm = want.removeprefix("tvm-")
    if "libdlr.so" in meta.files:
        return Verdict("runtime", True, f"artifact bundles libdlr.so (ABI {want}); DLR loads it from the model "
                       "directory first")
    rt = facts.runtime
    if rt.version is None:
        return Verdict("runtime", False, f"no DLR runtime found: {rt.error or 'unknown reason'}",
                       f"install the dlr wrapper and a libdlr.so built for TVM {tvm} on the device, "
                       "or bundle libdlr.so with the artifact (`hil compile --runtime-lib`)")
    have = rt.abi
    if have is None:
        return Verdict("runtime", False, f"DLR {rt.version} ({rt.libdlr}) does not say which TVM it runs; model "
                       f"compiled with TVM {tvm} needs runtime ABI {want}",
                       f"install DLR matching compiler TVM {tvm} (a version tagged +tvm-{tvm}.x)")
    if have != want:
        return Verdict("runtime", False, f"model compiled with TVM {tvm} needs runtime ABI {want}, this device's "
                       f"runtime is {have} (DLR {rt.version})",
                       f"install DLR matching compiler TVM {tvm} or recompile with TVM {have.removeprefix('tvm-')}")
    return Verdict("runtime", True, f"DLR {rt.version} runs ABI {have}, as compiled")


def _glibc(required: tuple[int, int], facts: DeviceFacts) -> Verdict:
    need = f"{required[0]}.{required[1]}"
    if facts.glibc is None:
        return Verdict("glibc", False, f"{SO_NAME} needs glibc ≥ {need}; the device has "
                       f"{facts.libc_text or 'no detectable libc'}",
                       "use a glibc-based image (Debian/Ubuntu/Yocto with glibc), not musl/Alpine")
    have = f"{facts.glibc[0]}.{facts.glibc[1]}"
    if facts.glibc >= required:
        return Verdict("glibc", True, f"{SO_NAME} needs glibc ≥ {need}, device has {have}")
    return Verdict("glibc", False, f"{SO_NAME} needs glibc ≥ {need}, device has {have}",
                   "update the device OS, or compile with an older cross toolchain")


def memory_needed(meta: ArtifactMeta) -> int:
    files = sum(f.size for f in meta.files.values())
    tensors = sum(_nbytes(t.shape, t.dtype) for t in (*meta.inputs, *meta.outputs))
    return files + TENSOR_FACTOR * tensors + RUNTIME_OVERHEAD


def _nbytes(shape: list[int], dtype: str) -> int:
    n = _DTYPE_BYTES.get(dtype, 4)
    for d in shape:
        n *= d
    return n


def _memory(meta: ArtifactMeta, facts: DeviceFacts) -> Verdict:
    need, room = memory_needed(meta), facts.memory_for_model
    mib = lambda b: f"{b / (1 << 20):.0f} MiB"  # noqa: E731
    if room is None:
        return Verdict("memory", False, "could not read MemAvailable from /proc/meminfo",
                       "check that /proc is mounted on the device")
    capped = f" (cgroup limit {mib(facts.cgroup_limit)})" if facts.cgroup_limit is not None else ""
    text = f"needs ≥ {mib(need)} (model files, tensors, runtime), device has {mib(room)} available{capped}"
    if room >= need:
        return Verdict("memory", True, text)
    return Verdict("memory", False, text + " — expect an OOM kill",
                   "free memory or raise the container/Greengrass component memory limit")


def run_preflight(meta: ArtifactMeta, transport: Transport, *, artifact_dir: Path | None = None,
                  python: str = DEVICE_PYTHON) -> list[Verdict]:
    """Gather the device's facts and evaluate ``meta``; with ``artifact_dir``, also check glibc."""
    facts = gather_facts(transport, python=python)
    glibc = read_elf(Path(artifact_dir) / SO_NAME).glibc_required if artifact_dir else None
    return evaluate(meta, facts, glibc_required=glibc)

