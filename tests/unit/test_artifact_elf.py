"""Pure-Python ELF header reading on real objects of three architectures, and on garbage."""

from __future__ import annotations

import platform
import sys
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from harness.artifact.elf import ElfError, parse_elf, read_elf

CROSS_LIBC = {"aarch64": Path("/usr/aarch64-linux-gnu/lib/libc.so.6"),
              "armv7l": Path("/usr/arm-linux-gnueabihf/lib/libc.so.6")}


def test_this_interpreter_is_the_host_arch():
    info = read_elf(Path(sys.executable).resolve())
    assert info.arch == platform.machine() and info.elf_class == 64 and info.little_endian


@pytest.mark.parametrize("arch", sorted(CROSS_LIBC))
def test_cross_toolchain_libraries(arch):
    info = read_elf(CROSS_LIBC[arch])
    assert info.arch == arch
    assert info.elf_class == (64 if arch == "aarch64" else 32)
    assert info.machine == {"aarch64": "EM_AARCH64", "armv7l": "EM_ARM"}[arch]


def test_glibc_requirement_comes_from_version_needs():
    # libm needs libc symbols of its own glibc release: a version need we can check.
    libm = Path("/usr/aarch64-linux-gnu/lib/libm.so.6")
    assert read_elf(libm).glibc_required >= (2, 17)


def test_not_elf_and_unreadable():
    with pytest.raises(ElfError, match="not an ELF file"):
        parse_elf(b"#!/bin/sh\necho hi\n" * 3)
    with pytest.raises(ElfError, match="cannot read"):
        read_elf(Path("/nonexistent/compiled.so"))


@settings(deadline=None)  # a loaded CI machine must not turn into a flaky failure
@given(st.binary(max_size=256))
def test_fuzz_random_bytes(data):
    try:
        parse_elf(data)
    except ElfError:
        pass


HEADER = Path(sys.executable).resolve().read_bytes()[:4096]


@settings(deadline=None)
@given(st.integers(0, len(HEADER) - 1), st.binary(min_size=1, max_size=8), st.integers(16, len(HEADER)))
def test_fuzz_corrupted_real_header(offset, patch, cut):
    data = (HEADER[:offset] + patch + HEADER[offset + len(patch):])[:cut]
    try:
        info = parse_elf(data)
    except ElfError:
        return
    assert info.elf_class in (32, 64)
