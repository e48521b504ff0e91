"""Failure signatures: each rule reads Evidence and, when its signature is really there, names a class,
says what happened and what to do, in the words of the Neo / DLR / Greengrass troubleshooting guides.

A rule matches only specific texts, codes or corroborated signals. Its ``strength`` says how sure it is:
3 — a tool's own message naming the cause; 2 — an error code, a typed error's class, a failed preflight
check or a bare signal with one meaning; 1 — a hint only. Absence of a rule match means "unknown".
"""

from __future__ import annotations

import re
import signal
from collections.abc import Callable
from dataclasses import dataclass

from harness.diagnose.evidence import Evidence
from harness.errors import FailureClass

WRONG_TARGET = FailureClass.WRONG_TARGET
RUNTIME_MISMATCH = FailureClass.RUNTIME_MISMATCH
INPUT_CONFIG = FailureClass.INPUT_CONFIG
UNSUPPORTED_OPERATOR = FailureClass.UNSUPPORTED_OPERATOR
OUT_OF_MEMORY = FailureClass.OUT_OF_MEMORY
MISSING_DEPENDENCY = FailureClass.MISSING_DEPENDENCY
DEPLOYMENT_PLATFORM = FailureClass.DEPLOYMENT_PLATFORM
ARTIFACT_INTEGRITY = FailureClass.ARTIFACT_INTEGRITY
DISK_FULL = FailureClass.DISK_FULL
UNKNOWN = FailureClass.UNKNOWN
#: The classes a rule can name (every one a FailureClass; "unknown" when none matches).
CLASSES = (WRONG_TARGET, RUNTIME_MISMATCH, INPUT_CONFIG, UNSUPPORTED_OPERATOR, OUT_OF_MEMORY, MISSING_DEPENDENCY,
           DEPLOYMENT_PLATFORM, ARTIFACT_INTEGRITY, DISK_FULL)
SIGILL, SIGKILL = int(signal.SIGILL), int(signal.SIGKILL)


@dataclass(frozen=True)
class Match:
    failure_class: FailureClass
    strength: int
    summary: str
    advice: str
    quote: str = ""  # the line of evidence the rule matched


Rule = Callable[[Evidence, str], "Match | None"]
RULES: list[Rule] = []


def rule(fn: Rule) -> Rule:
    RULES.append(fn)
    return fn


def _line_of(text: str, m: re.Match[str]) -> str:
    start = text.rfind("\n", 0, m.start()) + 1
    end = text.find("\n", m.end())
    return text[start:end if end >= 0 else len(text)].strip()[:400]


def _recompile(ev: Evidence) -> str:
    if ev.device_target:
        return f"recompile with TargetDevice={ev.device_target}"
    return "recompile for this device's Neo target (TargetDevice, or TargetPlatform with its Os/Arch)"


def _failed(ev: Evidence, check: str) -> str | None:
    return next((v.reason for v in ev.verdicts if v.check == check and not v.ok), None)


# --- wrong-target -----------------------------------------------------------------------------------------
_COMPILED_FOR = re.compile(r"model compiled for ([\w.-]+) \(([^)\n]*)\), this device is ([\w.-]+)")
_ELF_OTHER = re.compile(r"compiled\.so is an? ([\w.-]+) \(([\w.-]+)\) shared object, this device is ([\w.-]+)")
_ELF_CLASS = re.compile(r"wrong ELF class: ELFCLASS(32|64)")
# glibc's dlopen reports a shared object of another machine as ENOENT although the file exists.
_MODEL_SO_ENOENT = re.compile(r"(\S*compiled\.so|\S*/model[\w.-]*\.so): cannot open shared object file: "
                              r"No such file or directory")
_EXEC_FORMAT = re.compile(r"[Ee]xec format error")
# The shell's (or the kernel log's) own line for SIGILL, not the words anywhere in prose.
_ILLEGAL = re.compile(r"(?m)(?:^|: |\] )Illegal instruction(?: \(core dumped\))?\s*$")


@rule
def wrong_target(ev: Evidence, text: str) -> Match | None:
    for pattern, what in ((_COMPILED_FOR, None), (_ELF_OTHER, None), (_ELF_CLASS, "a 32/64-bit mismatch"),
                          (_MODEL_SO_ENOENT, "glibc reports a shared object of another architecture as missing"),
                          (_EXEC_FORMAT, "the kernel cannot execute this architecture")):
        m = pattern.search(text)
        if m is None:
            continue
        if pattern is _COMPILED_FOR:
            summary = f"model compiled for {m[1]} ({m[2]}) loaded on a {m[3]} device"
        elif pattern is _ELF_OTHER:
            summary = f"compiled.so is an {m[1]} ({m[2]}) shared object, the device is {m[3]}"
        else:
            summary = f"the model's shared object is for another architecture ({what})"
        return Match(WRONG_TARGET, 3, summary, _recompile(ev), _line_of(text, m))
    m = _ILLEGAL.search(text)
    if m is not None or ev.killed_by == SIGILL:
        return Match(WRONG_TARGET, 3 if m else 2,
                     "the model ran instructions this device's CPU lacks (SIGILL, exit 132): it was compiled for "
                     "another CPU (mcpu/mattr) of the same architecture",
                     f"{_recompile(ev)}, or drop the -mcpu/-mattr CompilerOptions this CPU does not have",
                     _line_of(text, m) if m else f"signal {SIGILL}")
    for check in ("arch", "cpu"):
        reason = _failed(ev, check)
        if reason:
            return Match(WRONG_TARGET, 2, f"preflight: {reason}", _recompile(ev), reason)
    if ev.error_class == WRONG_TARGET:
        return Match(WRONG_TARGET, 2, "the harness reported a wrong target", _recompile(ev), ev.error_text[:400])
    return None


# --- runtime-mismatch ------------------------------------------------------------------------------------
_ABI = re.compile(r"model compiled with TVM ([\w.+-]+) / needs runtime ABI ([\w.+-]+), this runtime is TVM ([\w.+-]+)")
_LOADER = re.compile(r"Loader of ([\w]+)\(runtime\.module\.loadbinary_(\w+)\) is not presented")
_DEVICE_ABI = re.compile(r"model compiled with TVM ([\w.+-]+) needs runtime ABI ([\w.+-]+), this device's runtime is")


@rule
def runtime_mismatch(ev: Evidence, text: str) -> Match | None:
    m = _ABI.search(text)
    if m:
        return Match(RUNTIME_MISMATCH, 3, f"model compiled with TVM {m[1]}, the device's DLR runs TVM {m[3]}",
                     f"install DLR matching compiler TVM {m[1]} (libdlr built for {m[2]}) on the device, "
                     f"or recompile the model with TVM {m[3]}", _line_of(text, m))
    m = _LOADER.search(text)
    if m:
        return Match(RUNTIME_MISMATCH, 3,
                     f"the DLR runtime cannot load the module kind \"{m[2]}\" the compiler wrote: DLR and the "
                     "compiler are different releases",
                     "install the DLR release that matches the Neo compiler release the model was compiled with "
                     "(each DLR release runs models of its neo-ai/tvm release), or recompile", _line_of(text, m))
    m = _DEVICE_ABI.search(_failed(ev, "runtime") or "")
    if m:
        return Match(RUNTIME_MISMATCH, 2, f"preflight: {m.string}", f"install DLR matching compiler TVM {m[1]}",
                     m.string)
    if ev.error_class == RUNTIME_MISMATCH:
        return Match(RUNTIME_MISMATCH, 2, "the harness reported a runtime mismatch",
                     "install DLR matching the compiler's TVM release", ev.error_text[:400])
    return None


# --- input-config ----------------------------------------------------------------------------------------
_INPUT_CFG = re.compile(r"ClientError: InputConfiguration: (?!TVM cannot convert)([^\n]*)")
_SHAPE = re.compile(r'input "([^"\n]+)" has shape \(([\d, ]*)\), model expects \(([\d, ]*)\)')


@rule
def input_config(ev: Evidence, text: str) -> Match | None:
    m = _SHAPE.search(text)
    if m:
        return Match(INPUT_CONFIG, 3, f"input {m[1]!r} was fed shape ({m[2]}), the model was compiled for ({m[3]})",
                     f"check DataInputConfig: the model's input is '{m[1]}' [{m[3]}]; feed that shape, or "
                     f"recompile with DataInputConfig {{\"{m[1]}\": [{m[2]}]}}", _line_of(text, m))
    m = _INPUT_CFG.search(text)
    if m:
        return Match(INPUT_CONFIG, 3, f"DataInputConfig does not match the model: {m[1][:300]}",
                     "check DataInputConfig: input names, shapes (NCHW for ONNX/PyTorch) and dtypes must be the "
                     "model's own, e.g. {\"data\": [1,3,224,224]}", _line_of(text, m))
    if ev.error_class == INPUT_CONFIG:
        return Match(INPUT_CONFIG, 2, "the compiler rejected the InputConfig",
                     "check DataInputConfig against the model's inputs", ev.error_text[:400])
    return None


# --- unsupported-operator --------------------------------------------------------------------------------
_NOT_IMPL = re.compile(r"The following operators are not (?:implemented|supported for frontend \w+): ?([^\n]*)")


@rule
def unsupported_operator(ev: Evidence, text: str) -> Match | None:
    m = _NOT_IMPL.search(text)
    if m:
        ops = m[1].strip()[:200]
        return Match(UNSUPPORTED_OPERATOR, 3, f"the compiler has no conversion for operator(s) {ops}",
                     f"replace {ops} with standard operators of the framework (or decompose them) before "
                     "compiling; Neo compiles only the operators its frontend supports", _line_of(text, m))
    if ev.error_class == UNSUPPORTED_OPERATOR:
        return Match(UNSUPPORTED_OPERATOR, 2, "the compiler rejected an operator",
                     "replace unsupported operators with standard ones before compiling", ev.error_text[:400])
    return None


# --- out-of-memory ---------------------------------------------------------------------------------------
_OOM_TEXT = re.compile(r"\bMemoryError\b|std::bad_alloc|Out of memory: Kill|oom-kill|\boom_kill\b|"
                       r"Cannot allocate memory")
_OOM_ADVICE = ("lower the model's memory (smaller batch/input, a smaller model) or raise the memory limit of the "
               "core's container or of the Greengrass component (its recipe's SystemResourceLimits memory)")


@rule
def out_of_memory(ev: Evidence, text: str) -> Match | None:
    if ev.oom_kills:
        return Match(OUT_OF_MEMORY, 3, f"the kernel's OOM killer ended the process ({ev.oom_kills} oom_kill event(s) "
                     "in the cgroup)", _OOM_ADVICE, f"cgroup oom_kill {ev.oom_kills}")
    m = _OOM_TEXT.search(text)
    if m:
        return Match(OUT_OF_MEMORY, 3, "the process ran out of memory", _OOM_ADVICE, _line_of(text, m))
    memory = _failed(ev, "memory")
    if ev.killed_by == SIGKILL and memory:
        return Match(OUT_OF_MEMORY, 2, f"SIGKILL (exit 137) and preflight says: {memory}", _OOM_ADVICE, memory)
    return None


# --- missing-dependency ----------------------------------------------------------------------------------
_LOADING = re.compile(r"error while loading shared libraries: ([^\s:]+): cannot open shared object file")
_LIB_ENOENT = re.compile(r"(?<![\w.-])((?:[\w./+-]*/)?lib[\w+-]*\.so[\w.]*): cannot open shared object file: "
                         r"No such file or directory")
_SYMBOL_VERSION = re.compile(r"version [`'\"]?((?:GLIBC|GLIBCXX|CXXABI)_[\d.]+)[`'\"]? not found")
_NO_MODULE = re.compile(r"No module named '([\w.]+)'")
_NO_DLR = re.compile(r"Cannot find DLR Library in the candidate path")


@rule
def missing_dependency(ev: Evidence, text: str) -> Match | None:
    for pattern in (_LOADING, _LIB_ENOENT):
        m = pattern.search(text)
        if m:
            lib = m[1].rsplit("/", 1)[-1]
            return Match(MISSING_DEPENDENCY, 3, f"the runtime needs {lib}, which the device's loader cannot find",
                         f"install {lib} on the device (for DLR: the libdlr.so, libtvm_runtime.so and libtvm_ffi.so "
                         "of one release, side by side in the dlr package directory), or check LD_LIBRARY_PATH",
                         _line_of(text, m))
    m = _SYMBOL_VERSION.search(text)
    if m:
        return Match(MISSING_DEPENDENCY, 3, f"the device's C/C++ runtime is older than the artifact needs ({m[1]})",
                     "update the device OS (glibc/libstdc++), or build the runtime with an older toolchain",
                     _line_of(text, m))
    m = _NO_DLR.search(text) or _NO_MODULE.search(text)
    if m:
        what = "libdlr.so" if m.re is _NO_DLR else f"the Python module {m[1]}"
        return Match(MISSING_DEPENDENCY, 3, f"{what} is not installed on the device",
                     "install DLR on the device (pip install dlr plus its libdlr.so), in the Python the component "
                     "runs", _line_of(text, m))
    reason = _failed(ev, "runtime")
    if reason and reason.startswith("no DLR runtime found"):
        return Match(MISSING_DEPENDENCY, 2, f"preflight: {reason}", "install DLR and its libdlr.so on the device",
                     reason)
    return None


# --- deployment-platform ---------------------------------------------------------------------------------
_NO_RECIPE = re.compile(r"Failed to find usable recipe for current platform: ?([^\n]*?)(?:, for package: '([^']+)')?"
                        r"(?: in the local package store)?\.?$", re.M)


@rule
def deployment_platform(ev: Evidence, text: str) -> Match | None:
    m = _NO_RECIPE.search(text)
    if m:
        what = f" {m[2]}" if m[2] else ""
        return Match(DEPLOYMENT_PLATFORM, 3,
                     f"the component{what} has no recipe manifest for this core's platform ({m[1] or 'unknown'})",
                     "add a Manifests entry whose Platform (os, architecture) matches the core — architecture "
                     "amd64 / aarch64 / arm — or deploy the component to a core of the platform it lists",
                     _line_of(text, m))
    return None


# --- artifact-integrity ----------------------------------------------------------------------------------
_INTEGRITY = re.compile(r"the artifact was truncated or replaced|Integrity check for downloaded artifact failed|"
                        r"does not match the recipe's|compiled\.so not found beside compiled\.meta")
_INTEGRITY_ADVICE = ("rebuild the component so its recipe Digest is computed from the artifact it ships, and "
                     "redeploy the whole artifact (compiled.so + compiled.meta); never edit artifacts in place")


@rule
def artifact_integrity(ev: Evidence, text: str) -> Match | None:
    if "ARTIFACT_CHECKSUM_MISMATCH" in ev.error_stack:
        return Match(ARTIFACT_INTEGRITY, 3, "Greengrass: an artifact's SHA-256 does not match the recipe's Digest "
                     "(ARTIFACT_CHECKSUM_MISMATCH)", _INTEGRITY_ADVICE, ", ".join(ev.error_stack))
    m = _INTEGRITY.search(text)
    if m:
        return Match(ARTIFACT_INTEGRITY, 3, "the artifact on the device is not the one that was built",
                     _INTEGRITY_ADVICE, _line_of(text, m))
    if "IO_UNZIP_ERROR" in ev.error_stack:
        return Match(ARTIFACT_INTEGRITY, 2, "Greengrass could not unpack an archive artifact (IO_UNZIP_ERROR)",
                     _INTEGRITY_ADVICE, ", ".join(ev.error_stack))
    return None


# --- disk-full -------------------------------------------------------------------------------------------
# strerror(ENOSPC), as Java's FileSystemException ("src -> dst: reason") and Python's OSError print it. inotify
# reports running out of watches with the same errno: not a disk.
_ENOSPC = re.compile(r"^(?!.*inotify).*No space left on device", re.M | re.I)
_STORE_PATH = re.compile(r"-> (/\S+): No space left on device")
_UNPACK = re.compile(r"Failed to unarchive component (\S+) artifact")
# SizeLimitException (aws-greengrass-nucleus ComponentManager.java:484-498), error code DISK_SPACE_CRITICAL.
_CRITICAL = re.compile(r"Disk space critical: (\d+) bytes usable, (\d+) bytes minimum allowed")
_STORE_LIMIT = re.compile(r"Component store size limit reached: (\d+) bytes existing, (\d+) bytes needed, "
                          r"(\d+) bytes maximum allowed total")
_FREE_ADVICE = ("free space on the device's disk ({where}: `df -h {where}`; old component versions under "
                "packages/artifacts, large logs under logs/), or give the device a bigger disk, then deploy again")


@rule
def disk_full(ev: Evidence, text: str) -> Match | None:
    """Greengrass's disk errors (IO_WRITE_ERROR / IO_UNZIP_ERROR with ENOSPC, DISK_SPACE_CRITICAL), else ENOSPC."""
    codes = ", ".join(ev.error_stack)
    m = _STORE_LIMIT.search(text)
    if m:
        return Match(DISK_FULL, 3, f"the device's component store is at its size limit: {m[2]} bytes more would "
                     f"exceed {m[3]} (DISK_SPACE_CRITICAL)", "raise the nucleus's componentStoreMaxSizeBytes, or "
                     "remove components from the core, then deploy again", _line_of(text, m))
    m = _CRITICAL.search(text)
    if m or "DISK_SPACE_CRITICAL" in ev.error_stack:
        usable = f": {m[1]} bytes usable, Greengrass needs {m[2]}" if m else ""
        return Match(DISK_FULL, 3 if m else 2, f"the device's disk is full{usable} (DISK_SPACE_CRITICAL)",
                     _FREE_ADVICE.format(where="/greengrass/v2"), _line_of(text, m) if m else codes)
    m = _ENOSPC.search(text)
    if m is None:
        return None
    quote = _line_of(text, m)
    store = _STORE_PATH.search(text)
    where = store[1].split("/packages/")[0] if store and "/packages/" in store[1] else "/greengrass/v2"
    if "IO_WRITE_ERROR" in ev.error_stack:
        what = f"could not write {store[1]}" if store else "could not write its component store"
        return Match(DISK_FULL, 3, f"the device's disk is full: Greengrass {what} (IO_WRITE_ERROR: No space left "
                     "on device)", _FREE_ADVICE.format(where=where), quote)
    if "IO_UNZIP_ERROR" in ev.error_stack:
        unpack = _UNPACK.search(text)
        what = f" of {unpack[1]}" if unpack else ""
        return Match(DISK_FULL, 3, f"the device's disk is full: Greengrass could not unpack the archive artifact"
                     f"{what} (IO_UNZIP_ERROR: No space left on device)", _FREE_ADVICE.format(where=where), quote)
    return Match(DISK_FULL, 3, "the device's disk is full: a write failed with ENOSPC (No space left on device)",
                 "free space on the filesystem the failing step writes to (`df -h`), or give the device a bigger "
                 "disk, then run again", quote)
