"""Device facts: gathered for real on this machine through LocalTransport, and the parser fuzzed."""

from __future__ import annotations

import os
import platform
import sys
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from harness.preflight.facts import gather_facts, parse_facts
from harness.transport.local import LocalTransport

RASPI4 = """@@arch
aarch64
@@cpu
Features	: fp asimd evtstrm crc32 cpuid
CPU part	: 0xd08
@@glibc
ldd (Debian GLIBC 2.31-13+rpt2+rpi1+deb11u5) 2.31
@@meminfo
MemTotal:        3885396 kB
MemAvailable:    3321868 kB
@@cgroup
9223372036854771712
123456
@@runtime
{"wrapper": "1.10.0", "libdlr": "/opt/hil/venv/dlr/libdlr.so", "version": "1.10.0+tvm-0.26.0"}
"""


def test_this_machine_through_local_transport():
    facts = gather_facts(LocalTransport("controller"), python=sys.executable)
    assert facts.arch == platform.machine()
    assert ("avx2" in facts.cpu_flags) == ("avx2" in Path("/proc/cpuinfo").read_text())
    major, minor = os.confstr("CS_GNU_LIBC_VERSION").split()[1].split(".")[:2]
    assert facts.glibc == (int(major), int(minor))
    assert 0 < facts.mem_available <= os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    assert 0 < facts.memory_for_model <= facts.mem_available
    assert facts.runtime.wrapper == "1.10.0"  # found without importing dlr (no phone-home)
    assert facts.runtime.version or "libdlr" in (facts.runtime.error or "").lower() or facts.runtime.error


def test_missing_device_python_is_a_runtime_fact_not_a_crash():
    facts = gather_facts(LocalTransport("controller"), python="/nonexistent/bin/python")
    assert facts.runtime.version is None and "not found" in facts.runtime.error
    assert facts.arch == platform.machine()


def test_parse_a_raspberry_pi_4():
    facts = parse_facts(RASPI4)
    assert facts.arch == "aarch64" and "asimd" in facts.cpu_flags and facts.cpu_part == "0xd08"
    assert facts.glibc == (2, 31) and facts.cgroup_limit is None
    assert facts.mem_available == 3321868 * 1024
    assert facts.runtime.version == "1.10.0+tvm-0.26.0" and facts.runtime.abi == "tvm-0.26"


def test_parse_alpine_with_a_cgroup_limit():
    facts = parse_facts("@@arch\nx86_64\n@@glibc\nmusl libc (x86_64)\nVersion 1.2.4\n@@meminfo\n"
                        "MemAvailable:  2048000 kB\n@@cgroup\n268435456\n201326592\n@@runtime\nTraceback ...\n"
                        "ModuleNotFoundError: No module named 'ctypes'\n")
    assert facts.glibc is None and "musl" in facts.libc_text
    assert facts.cgroup_limit == 256 << 20 and facts.memory_for_model == 64 << 20
    assert "ModuleNotFoundError" in facts.runtime.error


@settings(deadline=None)  # a loaded CI machine must not turn into a flaky failure
@given(st.lists(st.one_of(st.sampled_from(["@@arch", "@@cpu", "@@glibc", "@@meminfo", "@@cgroup", "@@runtime",
                                           "flags : a b", "MemAvailable: 12 kB", "{", '{"version": 1}', "max"]),
                          st.text(max_size=40)), max_size=30))
def test_fuzz_parser_never_crashes(lines):
    facts = parse_facts("\n".join(lines))
    assert facts.memory_for_model is None or facts.memory_for_model >= 0
