"""What a device is, from plain commands over any Transport: arch, CPU flags, glibc, DLR, memory.

One shell round trip (sections separated by ``@@name`` markers), so a slow SSH link pays once
(plus one to ship the device code when it changed). The DLR probe (harness/ondevice/dlr_probe.py)
never imports the ``dlr`` package (that phones home with no timeout): it loads the wrapper's
libpath.py on its own, finds libdlr.so as the wrapper would, and asks GetDLRVersion.
"""

from __future__ import annotations

import json
import re
import shlex
from dataclasses import dataclass, field

from harness.errors import TransportError
from harness.lab.device import DEVICE_PYTHON
from harness.ship import ship
from harness.transport.base import Transport

PROBE_TIMEOUT = 30.0
UNLIMITED = 1 << 62  # cgroup v1 reports "no limit" as a huge number

@dataclass(frozen=True)
class RuntimeFacts:
    """The DLR on the device: wrapper version, libdlr path and GetDLRVersion(), or why not."""

    version: str | None = None
    wrapper: str | None = None
    libdlr: str | None = None
    error: str | None = None

    @property
    def abi(self) -> str | None:
        """"tvm-0.27" from a version such as "1.10.0+tvm-0.27.0"; None for an untagged DLR."""
        m = re.search(r"\+tvm-(\d+)\.(\d+)", self.version or "")
        return f"tvm-{m.group(1)}.{m.group(2)}" if m else None


@dataclass(frozen=True)
class DeviceFacts:
    arch: str | None = None
    cpu_flags: frozenset[str] = frozenset()
    cpu_model: str | None = None
    cpu_part: str | None = None  # ARM "CPU part" (0xd08 = Cortex-A72), used to suggest a TargetDevice
    glibc: tuple[int, int] | None = None
    libc_text: str | None = None
    mem_available: int | None = None  # bytes
    cgroup_limit: int | None = None  # bytes, None when unlimited
    cgroup_usage: int | None = None
    runtime: RuntimeFacts = field(default_factory=RuntimeFacts)

    @property
    def memory_for_model(self) -> int | None:
        """Bytes a new process can use: MemAvailable, capped by what the cgroup limit leaves."""
        room = [v for v in (self.mem_available,
                            None if self.cgroup_limit is None else self.cgroup_limit - (self.cgroup_usage or 0))
                if v is not None]
        return max(0, min(room)) if room else None


def probe_script(runtime_probe: list[str]) -> str:
    """The shell script of every probe; ``runtime_probe`` is the argv of the DLR probe on the device."""
    return "\n".join([
        "echo @@arch; uname -m",
        "echo @@cpu; grep -m1 -E '^(flags|Features)[[:space:]]*:' /proc/cpuinfo",
        "grep -m1 -E '^(model name|CPU part)[[:space:]]*:' /proc/cpuinfo",
        "echo @@glibc; getconf GNU_LIBC_VERSION 2>/dev/null || ldd --version 2>&1 | head -n 2",
        "echo @@meminfo; grep -E '^(MemTotal|MemAvailable):' /proc/meminfo",
        "echo @@cgroup; cat /sys/fs/cgroup/memory.max /sys/fs/cgroup/memory.current 2>/dev/null || "
        "cat /sys/fs/cgroup/memory/memory.limit_in_bytes /sys/fs/cgroup/memory/memory.usage_in_bytes 2>/dev/null",
        f"echo @@runtime; {shlex.join(runtime_probe)} 2>&1 | tail -n 3",
        "true",
    ])


def gather_facts(transport: Transport, *, python: str = DEVICE_PYTHON, timeout: float = PROBE_TIMEOUT) -> DeviceFacts:
    """Run the probe on the device; a transport failure raises its typed error naming the device."""
    result = transport.run(probe_script(ship(transport).argv(python, "dlr_probe")), timeout=timeout)
    if "@@arch" not in result.stdout:
        raise TransportError(f"device probe printed nothing usable (exit {result.exit_status}): "
                             f"{(result.stderr or result.stdout).strip()[:200]}", device=transport.device,
                             step="preflight")
    return parse_facts(result.stdout)


def _sections(text: str) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    current: list[str] | None = None
    for line in text.splitlines():
        if line.startswith("@@"):
            current = out.setdefault(line[2:].strip(), [])
        elif current is not None:
            current.append(line)
    return out


def _int(text: str) -> int | None:
    text = text.strip()
    return int(text) if text.isdigit() and len(text) < 30 else None


def parse_facts(text: str) -> DeviceFacts:
    """Pure parser of the probe's output; unknown or garbled sections leave fields unset."""
    s = _sections(text)
    arch = next((ln.strip() for ln in s.get("arch", []) if ln.strip()), None)
    flags: frozenset[str] = frozenset()
    model = part = None
    for line in s.get("cpu", []):
        key, _, value = line.partition(":")
        key = key.strip()
        if key in ("flags", "Features") and not flags:
            flags = frozenset(value.split())
        elif key == "model name":
            model = value.strip() or None
        elif key == "CPU part":
            part = value.strip().lower() or None
    libc_text = " ".join(ln.strip() for ln in s.get("glibc", []) if ln.strip())[:200] or None
    glibc = None
    if libc_text and re.search(r"glibc|gnu libc", libc_text, re.I):
        m = re.findall(r"(\d+)\.(\d+)", libc_text)
        glibc = (int(m[-1][0]), int(m[-1][1])) if m else None
    mem = {}
    for line in s.get("meminfo", []):
        m = re.match(r"^(\w+):\s+(\d{1,20})\s*kB", line)
        if m:
            mem[m.group(1)] = int(m.group(2)) * 1024
    cg = [ln.strip() for ln in s.get("cgroup", []) if ln.strip()]
    limit = _int(cg[0]) if cg else None
    limit = None if limit is None or limit >= UNLIMITED else limit
    usage = _int(cg[1]) if len(cg) > 1 else None
    return DeviceFacts(arch, flags, model, part, glibc, libc_text, mem.get("MemAvailable"), limit, usage,
                       _runtime(s.get("runtime", [])))


def _runtime(lines: list[str]) -> RuntimeFacts:
    for line in reversed(lines):
        line = line.strip()
        if line.startswith("{"):
            try:
                data = json.loads(line)
            except ValueError:
                break
            if not isinstance(data, dict):
                break
            fields = {k: str(data[k])[:300] for k in ("version", "wrapper", "libdlr", "error")
                      if data.get(k) is not None}
            return RuntimeFacts(**fields)
    tail = " | ".join(ln.strip() for ln in lines if ln.strip())[:300]
    return RuntimeFacts(error=tail or "the runtime probe printed nothing")
