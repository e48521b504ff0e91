"""Neo target catalogue: TargetDevice / TargetPlatform (+ CompilerOptions) → a TVM target dict.

Each entry also names the `uname -m` arch, the ELF machine, the cross compiler and the CPU
features (in /proc/cpuinfo vocabulary) a device needs to run the code. See docs/compile.md.
"""

from __future__ import annotations

import ast
import json
import platform
import re
from dataclasses import dataclass

from harness.compile.errors import TargetError
from harness.primitives.arch import ARCHES

#: TargetDevice → (arch, mcpu, mattr). CPU-only: jetson_* build for their ARM cores here.
DEVICES: dict[str, tuple[str, str | None, tuple[str, ...]]] = {
    "ml_c4": ("x86_64", "haswell", ()),
    "ml_m4": ("x86_64", "haswell", ()),
    "ml_c5": ("x86_64", "skylake-avx512", ()),
    "ml_m5": ("x86_64", "skylake-avx512", ()),
    "ml_c6i": ("x86_64", "icelake-server", ()),
    "ml_m6i": ("x86_64", "icelake-server", ()),
    "ml_c6g": ("aarch64", "neoverse-n1", ("+neon",)),
    "ml_m6g": ("aarch64", "neoverse-n1", ("+neon",)),
    "rasp3b": ("armv7l", "cortex-a53", ("+neon",)),
    "rasp4b": ("aarch64", "cortex-a72", ("+neon",)),
    "jetson_tx1": ("aarch64", "cortex-a57", ("+neon",)),
    "jetson_tx2": ("aarch64", "cortex-a57", ("+neon",)),
    "jetson_nano": ("aarch64", "cortex-a57", ("+neon",)),
    # Carmel is ARMv8.2 (+fp16); Neo's CPU targets build for it as an A57 with v8.2 features.
    "jetson_xavier": ("aarch64", "cortex-a57", ("+neon", "+v8.2a", "+fullfp16")),
    "imx8qm": ("aarch64", "cortex-a53", ("+neon",)),
    "imx8mplus": ("aarch64", "cortex-a53", ("+neon",)),
    "rk3399": ("aarch64", "cortex-a53", ("+neon",)),
    "rk3288": ("armv7l", "cortex-a17", ("+neon",)),
    "sitara_am57x": ("armv7l", "cortex-a15", ("+neon",)),
    "qcs605": ("aarch64", "cortex-a55", ("+neon",)),
    "qcs603": ("aarch64", "cortex-a55", ("+neon",)),
}

#: Neo TargetDevices that need a GPU, an accelerator or a non-Linux OS: only the cloud compiler builds them.
CLOUD_ONLY = frozenset({"ml_p2", "ml_p3", "ml_g4dn", "ml_inf1", "ml_inf2", "ml_trn1", "ml_eia2", "lambda", "deeplens",
                        "aisage", "amba_cv2", "amba_cv22", "amba_cv25", "coreml", "x86_win32", "x86_win64", "sbe_c",
                        "jacinto_tda4vm", "imx8mplus_npu"})

#: The -mattr Neo recommends in CompilerOptions for a TargetPlatform, by machine (none elsewhere).
PLATFORM_MATTR: dict[str, tuple[str, ...]] = {"aarch64": ("+neon",)}
#: TargetPlatform ``Arch`` values: Neo's spelling of each machine in the architecture table.
PLATFORM_ARCHES = tuple(a.neo for a in ARCHES.values())

#: SIMD level an -mcpu turns on, in cpuinfo flags. Crypto/CRC are left out: model code never uses them,
#: and boards such as the Raspberry Pi 4 lack them although their core "has" them.
MCPU_FEATURES: dict[str, tuple[str, ...]] = {
    "haswell": ("avx", "avx2", "fma"),
    "skylake-avx512": ("avx", "avx2", "fma", "avx512f", "avx512cd", "avx512bw", "avx512dq", "avx512vl"),
    "icelake-server": ("avx", "avx2", "fma", "avx512f", "avx512cd", "avx512bw", "avx512dq", "avx512vl",
                       "avx512_vnni"),
    "neoverse-n1": ("asimd", "atomics", "asimdrdm", "asimddp", "fphp", "asimdhp"),
    "cortex-a55": ("asimd", "atomics", "asimdrdm", "asimddp", "fphp", "asimdhp"),
    "cortex-a57": ("asimd",), "cortex-a72": ("asimd",), "cortex-a53": ("asimd",),
}
#: -mattr feature → cpuinfo flags, per arch. +neon is "asimd" in aarch64 cpuinfo, "neon" in armv7's.
MATTR_FEATURES: dict[str, dict[str, tuple[str, ...]]] = {
    "aarch64": {"+neon": ("asimd",), "+crc": ("crc32",), "+lse": ("atomics",), "+rdm": ("asimdrdm",),
                "+dotprod": ("asimddp",), "+fullfp16": ("fphp", "asimdhp"), "+v8.1a": ("atomics", "asimdrdm"),
                "+v8.2a": ("atomics", "asimdrdm", "dcpop"), "+sve": ("sve",), "+i8mm": ("i8mm",),
                "+bf16": ("bf16",), "+aes": ("aes", "pmull"), "+sha2": ("sha1", "sha2")},
    "armv7l": {"+neon": ("neon",), "+vfp3": ("vfpv3",), "+vfp4": ("vfpv4",), "+fp16": ("half",)},
    "x86_64": {"+avx": ("avx",), "+avx2": ("avx2",), "+fma": ("fma",), "+avx512f": ("avx512f",),
               "+sse4.1": ("sse4_1",), "+sse4.2": ("sse4_2",), "+f16c": ("f16c",)},
}
#: Spellings from Neo's docs that LLVM knows under another name.
MATTR_ALIASES = {"+vfpv4": "+vfp4", "+vfpv3": "+vfp3"}
COMPILER_OPTION_KEYS = ("mcpu", "mattr", "dtype")
_MATTR = re.compile(r"[+-][a-z0-9_.-]{1,64}")


@dataclass(frozen=True)
class ResolvedTarget:
    """A Neo target as the offline compiler needs it."""

    neo: str
    arch: str
    tvm: dict[str, object]
    cpu_features: tuple[str, ...]

    @property
    def elf_machine(self) -> str:
        return ARCHES[self.arch].elf_machine

    def compiler_command(self, host_arch: str | None = None) -> str:
        """g++ for the host's own arch, the Debian cross g++ otherwise."""
        return "g++" if self.arch == (host_arch or platform.machine()) else ARCHES[self.arch].cxx


def known_targets() -> str:
    platforms = ", ".join(f'{{"Os":"LINUX","Arch":"{a}"}}' for a in PLATFORM_ARCHES)
    return f"TargetDevice: {', '.join(sorted(DEVICES))}; TargetPlatform: {platforms}"


def parse_json_option(text: str, what: str) -> object:
    """Neo accepts JSON; its own docs show Python-literal quoting ({'mattr': ['+neon']}), so accept both."""
    try:
        return json.loads(text)
    except ValueError:
        pass
    try:
        return ast.literal_eval(text)
    except (ValueError, SyntaxError, MemoryError, RecursionError, TypeError):
        raise TargetError(f"ValidationException: {what} is not valid JSON: {text[:80]!r}") from None


def resolve_target(target: str | dict, compiler_options: str | dict | None = None, *,
                   check_cpu: bool = True) -> ResolvedTarget:
    """Map a TargetDevice name, or a TargetPlatform (dict or JSON), to a TVM target; validate options.

    ``check_cpu=False`` leaves the mcpu check (which imports TVM for LLVM) to :func:`check_cpu_known`, for a
    caller that may not need TVM at all (a compile-cache hit).
    """
    if isinstance(target, str) and target.lstrip().startswith("{"):
        target = parse_json_option(target, "TargetPlatform")  # type: ignore[assignment]
    if isinstance(target, dict):
        neo, arch, mattr = _platform(target)
        mcpu: str | None = None
    elif isinstance(target, str) and target.strip().lower() in DEVICES:
        neo = target.strip().lower()
        arch, mcpu, mattr = DEVICES[neo]
    elif isinstance(target, str) and target.strip().lower() in CLOUD_ONLY:
        raise TargetError(f"ValidationException: TargetDevice {target.strip().lower()} needs an accelerator or OS the "
                          f"offline compiler does not build for (CPU code on Linux only). Offline: {known_targets()}",
                          advice="use the SageMaker backend (`--backend sagemaker`) for this device")
    else:
        raise TargetError(f"ValidationException: unknown target {str(target)[:60]!r}. Known: {known_targets()}",
                          advice="use one of the TargetDevice names, or a TargetPlatform with CompilerOptions")
    opts = _options(compiler_options)
    mcpu = opts.get("mcpu", mcpu)  # type: ignore[assignment]
    mattr = tuple(MATTR_ALIASES.get(m, m) for m in opts.get("mattr", mattr))  # type: ignore[union-attr]
    info = ARCHES[arch]
    tvm: dict[str, object] = {"kind": "llvm", "mtriple": info.llvm_triple}
    if mcpu:
        tvm["mcpu"] = mcpu
    if mattr:
        tvm["mattr"] = list(mattr)
    tvm.update(info.llvm_options)
    resolved = ResolvedTarget(neo, arch, tvm, cpu_features(arch, mcpu, mattr))
    if check_cpu:
        check_cpu_known(resolved)
    return resolved


def check_cpu_known(target: ResolvedTarget) -> None:
    """An mcpu LLVM does not know for the triple is Neo's ValidationException (asks TVM's LLVM)."""
    mcpu, triple = target.tvm.get("mcpu"), str(target.tvm["mtriple"])
    if mcpu is not None and not _valid_cpu(str(mcpu), triple):
        raise TargetError(f"ValidationException: CompilerOptions mcpu {mcpu!r} is not a CPU LLVM knows for "
                          f"{triple}", advice="use an -mcpu name such as cortex-a72 or skylake-avx512")


def cpu_features(arch: str, mcpu: str | None, mattr: tuple[str, ...] | list[str]) -> tuple[str, ...]:
    """cpuinfo flags the code may use: the mcpu's SIMD level plus each +feature (documented mapping)."""
    found: list[str] = []
    names = list(MCPU_FEATURES.get(mcpu or "", ()))
    if arch == "armv7l" and names == ["asimd"]:
        names = ["neon", "vfpv4"]  # an ARMv8 core in 32-bit mode
    for feat in mattr:
        if feat.startswith("+"):
            names += MATTR_FEATURES[arch].get(feat, (feat[1:].replace(".", "_").replace("-", "_"),))
    for name in names:
        if name not in found:
            found.append(name)
    return tuple(found)


def _platform(spec: dict) -> tuple[str, str, tuple[str, ...]]:
    keys = {str(k).lower(): v for k, v in spec.items()}
    unknown = set(keys) - {"os", "arch", "accelerator"}
    if unknown:
        raise TargetError(f"ValidationException: TargetPlatform has unknown keys {sorted(unknown)}; "
                          "allowed: Os, Arch, Accelerator")
    os_name, arch = str(keys.get("os", "")).upper(), str(keys.get("arch", "")).upper()
    if keys.get("accelerator"):
        raise TargetError(f"ValidationException: TargetPlatform Accelerator {keys['accelerator']!r} needs the cloud "
                          "compiler; the offline compiler builds CPU code only",
                          advice="drop Accelerator, or use the SageMaker backend (`--backend sagemaker`)")
    if os_name != "LINUX" or arch not in PLATFORM_ARCHES:
        raise TargetError(f"ValidationException: TargetPlatform Os={os_name or '?'} Arch={arch or '?'} is not "
                          f"supported offline. Known: {known_targets()}")
    uname = next(a.machine for a in ARCHES.values() if a.neo == arch)
    return f"LINUX_{arch}", uname, PLATFORM_MATTR.get(uname, ())


def _options(raw: str | dict | None) -> dict[str, object]:
    if raw is None or raw == "":
        return {}
    opts = parse_json_option(raw, "CompilerOptions") if isinstance(raw, str) else raw
    if not isinstance(opts, dict):
        raise TargetError("ValidationException: CompilerOptions must be a JSON object, e.g. {\"mcpu\": \"cortex-a72\"}")
    unknown = set(opts) - set(COMPILER_OPTION_KEYS)
    if unknown:
        raise TargetError(f"ValidationException: CompilerOptions {sorted(map(str, unknown))} not supported offline; "
                          f"known: {', '.join(COMPILER_OPTION_KEYS)}")
    out: dict[str, object] = {}
    if "mcpu" in opts:
        if not isinstance(opts["mcpu"], str) or not opts["mcpu"]:
            raise TargetError("ValidationException: CompilerOptions mcpu must be a non-empty string")
        out["mcpu"] = opts["mcpu"]
    if "mattr" in opts:
        mattr = opts["mattr"]
        if isinstance(mattr, str):
            mattr = [m.strip() for m in mattr.split(",") if m.strip()]
        if not isinstance(mattr, list) or not all(isinstance(m, str) and _MATTR.fullmatch(m) for m in mattr):
            raise TargetError("ValidationException: CompilerOptions mattr must be a list like ['+neon', '+vfpv4']")
        out["mattr"] = mattr
    return out


def _valid_cpu(mcpu: str, triple: str) -> bool:
    from tvm.target import codegen  # TVM import is slow; only when an mcpu is set

    return bool(codegen.llvm_is_valid_cpu(mcpu, triple))
