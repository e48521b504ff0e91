"""`hil inspect OUTDIR`: what an artifact is, read from disk without loading it.

Works for any architecture on any host: the arch comes from the ELF header, the rest from
compiled.meta, and the consistency checks compare the two and the recorded digests.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import TextIO

from harness.artifact.elf import ElfError, ElfInfo, read_elf
from harness.artifact.meta import (
    META_NAME,
    RUNTIME_LIBS,
    SO_NAME,
    ArtifactError,
    ArtifactMeta,
    load_meta,
    schedules_of,
)
from harness.artifact.verdict import Verdict, all_ok, print_verdicts
from harness.primitives.digest import sha256_file


@dataclass
class Inspection:
    directory: Path
    meta: ArtifactMeta
    elf: dict[str, ElfInfo]
    sizes: dict[str, int]
    checks: list[Verdict] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return all_ok(self.checks)

    def as_dict(self) -> dict[str, object]:
        return {
            "directory": str(self.directory),
            "ok": self.ok,
            "meta": json.loads(self.meta.to_json()),
            "elf": {n: {"class": e.elf_class, "endian": "little" if e.little_endian else "big",
                        "machine": e.machine, "arch": e.arch, "glibc_required": e.glibc_text}
                    for n, e in self.elf.items()},
            "sizes": self.sizes,
            "checks": [v.as_dict() for v in self.checks],
        }


def inspect_artifact(directory: Path) -> Inspection:
    """Read compiled.meta and the ELF headers; raise ArtifactError only when there is nothing to inspect."""
    directory = Path(directory)
    if not directory.is_dir():
        raise ArtifactError(f"{directory}: not a directory", step="inspect",
                            advice="give the output directory of `hil compile`")
    meta = load_meta(directory)
    present = {p.name: p for p in directory.iterdir() if p.is_file()}
    sizes = {n: p.stat().st_size for n, p in sorted(present.items())}
    elf: dict[str, ElfInfo] = {}
    checks: list[Verdict] = []
    for name in (SO_NAME, *RUNTIME_LIBS):
        if name in present:
            try:
                elf[name] = read_elf(present[name])
            except ElfError as exc:
                checks.append(Verdict(f"elf:{name}", False, exc.detail, exc.advice))
    checks += _arch_checks(meta, elf)
    checks += _file_checks(meta, present)
    return Inspection(directory, meta, elf, sizes, checks)


def _arch_checks(meta: ArtifactMeta, elf: dict[str, ElfInfo]) -> list[Verdict]:
    out = []
    for name, info in elf.items():
        want = meta.target.arch
        ok = info.arch == want and info.machine == meta.target.elf_machine
        reason = (f"{name} is {info.machine} ({info.arch or 'unknown'}), meta says {meta.target.elf_machine} "
                  f"({want}) for {meta.target.neo}")
        advice = None if ok else (
            f"recompile for TargetDevice={meta.target.neo}" if name == SO_NAME
            else f"bundle the {want} build of {name} (the runtime must match the target architecture)")
        out.append(Verdict(f"arch:{name}", ok, reason, advice))
    if SO_NAME not in elf and not any(v.check == f"elf:{SO_NAME}" for v in out):
        out.append(Verdict(f"arch:{SO_NAME}", False, f"{SO_NAME} is missing", "recompile the model"))
    return out


def _file_checks(meta: ArtifactMeta, present: dict[str, Path]) -> list[Verdict]:
    out = []
    for name, rec in sorted(meta.files.items()):
        path = present.get(name)
        if path is None:
            out.append(Verdict(f"file:{name}", False, "listed in compiled.meta but missing",
                               "copy the whole artifact directory, or recompile"))
            continue
        size, digest = path.stat().st_size, sha256_file(path)
        ok = size == rec.size and digest == rec.sha256
        reason = f"{size} B, sha256 {digest[:12]}…" + ("" if ok else f" (meta: {rec.size} B, {rec.sha256[:12]}…)")
        out.append(Verdict(f"file:{name}", ok, reason,
                           None if ok else "the file changed after compiling: recompile or recopy the artifact"))
    for name in sorted(set(present) - set(meta.files) - {META_NAME}):
        if name in RUNTIME_LIBS or name == SO_NAME:
            out.append(Verdict(f"file:{name}", False, "present but not recorded in compiled.meta",
                               "bundle runtime libraries with `hil compile --runtime-lib`, not by hand"))
    return out


def print_inspection(ins: Inspection, out: TextIO) -> None:
    m = ins.meta
    tvm = m.target.tvm.as_tvm_dict()
    out.write(f"artifact {ins.directory}\n")
    out.write(f"  model     {m.model.name} ({m.model.framework}, sha256 {m.model.sha256[:12]}…)\n")
    out.write(f"  target    {m.target.neo}: {json.dumps(tvm)}\n")
    so = ins.elf.get(SO_NAME)
    elf_text = (f"ELF{so.elf_class} {'LE' if so.little_endian else 'BE'} {so.machine} → {so.arch}, "
                f"needs glibc ≥ {so.glibc_text or '?'}") if so else "unreadable"
    out.write(f"  arch      {m.target.arch} (compiled.so: {elf_text})\n")
    out.write(f"  cpu       {' '.join(m.target.cpu_features) or '(baseline ISA only)'}\n")
    out.write(f"  compiler  TVM {m.compiler.tvm}, tvm-ffi {m.compiler.tvm_ffi}, LLVM {m.compiler.llvm}\n")
    out.write(f"  runtime   DLR ABI {m.runtime.dlr_abi}, entry {m.runtime.entry}\n")
    out.write(f"  tuning    {schedules_of(m.tuning)}\n")
    for label, specs in (("inputs", m.inputs), ("outputs", m.outputs)):
        text = ", ".join(f"{t.name} {list(t.shape)} {t.dtype}" for t in specs)
        out.write(f"  {label:<9} {text}\n")
    out.write(f"  created   {m.created:%Y-%m-%dT%H:%M:%SZ}\n  files\n")
    for name, size in ins.sizes.items():
        out.write(f"    {name:<20} {size:>10} B\n")
    out.write(f"  consistency: {'ok' if ins.ok else 'FAILED'}\n")
    print_verdicts(ins.checks, out)
