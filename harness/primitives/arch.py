"""One table of architecture names, in every spelling the loop meets.

A device reports ``uname -m`` (the canonical name here); Docker, Debian, pip's wheel tags, the
GNU toolchains, ELF headers, Greengrass recipes and Neo's TargetPlatform each spell the same
machine differently. Every translation goes through this table.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Arch:
    #: ``uname -m`` on the device: the name used everywhere else in the harness.
    machine: str
    #: Docker's platform architecture; None where the lab cannot emulate it.
    docker: str | None
    #: Debian's architecture (debootstrap --arch, cross-compiler packages).
    debian: str
    #: LLVM target triple for TVM.
    llvm_triple: str
    #: GNU toolchain prefix (``{gnu}-g++``).
    gnu: str
    #: Debian package of the C++ cross compiler.
    cxx_package: str
    #: ELF e_machine name.
    elf_machine: str
    #: Greengrass recipe ``Platform.architecture`` as the Java nucleus reports it.
    greengrass: str
    #: Neo TargetPlatform ``Arch``.
    neo: str
    #: ELF e_machine number (the header's field; elf_machine is its constant's name).
    elf_number: int
    #: TVM/LLVM target options the machine's ABI needs (armhf: hard-float calls).
    llvm_options: tuple[tuple[str, str], ...] = ()

    @property
    def cxx(self) -> str:
        return f"{self.gnu}-g++"

    def wheel_platforms(self) -> list[str]:
        """pip ``--platform`` tags; manylinux2014 alone finds many aarch64 wheels missing or old."""
        return [f"manylinux_2_28_{self.machine}", f"manylinux_2_27_{self.machine}", f"manylinux2014_{self.machine}"]


ARCHES: dict[str, Arch] = {a.machine: a for a in (
    Arch("x86_64", "amd64", "amd64", "x86_64-linux-gnu", "x86_64-linux-gnu", "g++-x86-64-linux-gnu",
         "EM_X86_64", "amd64", "X86_64", 62),
    Arch("aarch64", "arm64", "arm64", "aarch64-linux-gnu", "aarch64-linux-gnu", "g++-aarch64-linux-gnu",
         "EM_AARCH64", "aarch64", "ARM64", 183),
    Arch("armv7l", None, "armhf", "armv7l-linux-gnueabihf", "arm-linux-gnueabihf", "g++-arm-linux-gnueabihf",
         "EM_ARM", "arm", "ARM_EABIHF", 40, (("mfloat-abi", "hard"),)),
)}

#: Other spellings a user or a tool may give for a machine.
_ALIASES = {"amd64": "x86_64", "x86-64": "x86_64", "arm64": "aarch64", "armv8": "aarch64", "armhf": "armv7l",
            "armv7": "armv7l", "armv8l": "armv7l", "arm": "armv7l", "X86_64": "x86_64", "ARM64": "aarch64",
            "ARM_EABIHF": "armv7l"}


class UnknownArch(ValueError):
    """A machine name that is in none of the table's spellings."""


def arch(name: str) -> Arch:
    """The table row for any spelling of a machine (``arm64``, ``aarch64``, ``ARM64`` …)."""
    key = name if name in ARCHES else _ALIASES.get(name, _ALIASES.get(name.lower(), name.lower()))
    try:
        return ARCHES[key]
    except KeyError:
        raise UnknownArch(f"unknown architecture {name!r} (known: {', '.join(ARCHES)})") from None


def machine(name: str) -> str:
    """The ``uname -m`` spelling of any name for a machine."""
    return arch(name).machine


def from_docker(docker_arch: str) -> str:
    """``arm64`` → ``aarch64``: the machine of a Docker platform architecture."""
    for row in ARCHES.values():
        if row.docker == docker_arch:
            return row.machine
    raise UnknownArch(f"unknown Docker architecture {docker_arch!r} "
                      f"(known: {', '.join(a.docker for a in ARCHES.values() if a.docker)})")


def by_elf_number(e_machine: int) -> Arch | None:
    """The row of an ELF header's e_machine, or None for a machine the loop has no target for."""
    return next((a for a in ARCHES.values() if a.elf_number == e_machine), None)


def emulatable() -> list[str]:
    """Machines the lab can run as emulated cores (Docker, with qemu-user for the foreign ones)."""
    return [a.machine for a in ARCHES.values() if a.docker]
