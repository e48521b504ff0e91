"""Read what an ELF shared object was built for, in pure Python, without loading it.

An aarch64 ``compiled.so`` cannot be dlopen()ed on x86_64 (glibc even reports it as "No such
file"), so inspection and preflight read the header instead: class, byte order, e_machine, and
the GLIBC_x.y symbol versions the object needs (``.gnu.version_r``) to check a device's glibc.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from pathlib import Path

from harness.errors import FailureClass, HilError
from harness.primitives.arch import by_elf_number

SHT_GNU_VERNEED = 0x6FFFFFFE
_MAX_SECTIONS = 4096


class ElfError(HilError):
    """The file is not an ELF object we can read (truncated, not ELF, corrupt tables)."""

    failure_class = FailureClass.ARTIFACT


@dataclass(frozen=True)
class ElfInfo:
    elf_class: int  # 32 or 64
    little_endian: bool
    e_machine: int
    machine: str  # EM_* name, or "EM_<number>" when unknown here
    arch: str | None  # uname -m spelling, None when unknown here
    glibc_required: tuple[int, int] | None  # highest GLIBC_x.y the object references

    @property
    def glibc_text(self) -> str | None:
        return f"{self.glibc_required[0]}.{self.glibc_required[1]}" if self.glibc_required else None


def read_elf(path: Path) -> ElfInfo:
    """Parse the ELF header (and version needs) of ``path``; raise ElfError on anything unreadable."""
    try:
        data = Path(path).read_bytes()
    except OSError as exc:
        raise ElfError(f"{path}: cannot read: {exc.strerror or exc}", step="inspect") from exc
    return parse_elf(data, name=str(path))


def parse_elf(data: bytes, *, name: str = "<bytes>") -> ElfInfo:
    if len(data) < 20 or data[:4] != b"\x7fELF":
        raise ElfError(f"{name}: not an ELF file", step="inspect",
                       advice="compiled.so must be the export_library output of a Neo/TVM compile")
    cls = {1: 32, 2: 64}.get(data[4])
    endian = {1: "<", 2: ">"}.get(data[5])
    if cls is None or endian is None:
        raise ElfError(f"{name}: bad ELF class/byte order ({data[4]}, {data[5]})", step="inspect")
    (e_machine,) = struct.unpack_from(endian + "H", data, 18)
    known = by_elf_number(e_machine)  # the machines the loop has targets for; others by number
    return ElfInfo(cls, endian == "<", e_machine, known.elf_machine if known else f"EM_{e_machine}",
                   known.machine if known else None, _glibc_needed(data, cls, endian, name))


def _glibc_needed(data: bytes, cls: int, e: str, name: str) -> tuple[int, int] | None:
    """Highest GLIBC_x.y among the version needs; None when the object has none."""
    try:
        if cls == 64:
            shoff, = struct.unpack_from(e + "Q", data, 0x28)
            shentsize, shnum = struct.unpack_from(e + "HH", data, 0x3A)
            sh_fmt = e + "IIQQQQIIQQ"
        else:
            shoff, = struct.unpack_from(e + "I", data, 0x20)
            shentsize, shnum = struct.unpack_from(e + "HH", data, 0x2E)
            sh_fmt = e + "IIIIIIIIII"
        off_i, link_i, info_i = 4, 6, 7  # sh_offset, sh_link, sh_info
        if shoff == 0 or shnum == 0:
            return None
        if shnum > _MAX_SECTIONS or shentsize < struct.calcsize(sh_fmt):
            raise ElfError(f"{name}: implausible section table ({shnum} × {shentsize} B)", step="inspect")
        sections = [struct.unpack_from(sh_fmt, data, shoff + i * shentsize) for i in range(shnum)]
        best: tuple[int, int] | None = None
        for sh in sections:
            if sh[1] != SHT_GNU_VERNEED or sh[link_i] >= shnum:
                continue
            strtab = sections[sh[link_i]]
            str_off = strtab[off_i]
            pos, count = sh[off_i], sh[info_i]
            for _ in range(min(count, _MAX_SECTIONS)):
                _ver, cnt, _file, aux, nxt = struct.unpack_from(e + "HHIII", data, pos)
                apos = pos + aux
                for _ in range(min(cnt, _MAX_SECTIONS)):
                    _hash, _flags, _other, vname, anext = struct.unpack_from(e + "IHHII", data, apos)
                    text = _cstr(data, str_off + vname)
                    if text.startswith("GLIBC_"):
                        parts = text[6:].split(".")
                        if len(parts) >= 2 and parts[0].isdigit() and parts[1].isdigit():
                            ver = (int(parts[0]), int(parts[1]))
                            best = ver if best is None or ver > best else best
                    if anext == 0:
                        break
                    apos += anext
                if nxt == 0:
                    break
                pos += nxt
        return best
    except (struct.error, OverflowError) as exc:  # an offset past the file, or past what any file could be
        raise ElfError(f"{name}: truncated ELF tables ({exc})", step="inspect") from exc


def _cstr(data: bytes, off: int) -> str:
    if not 0 <= off < len(data):
        raise struct.error("string offset out of range")
    end = data.find(b"\0", off, off + 256)
    return data[off:end if end >= 0 else off + 256].decode("ascii", errors="replace")
