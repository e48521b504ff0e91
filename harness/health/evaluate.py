"""Pure readings of what the health commands print: ``df -Pk``, ``date +%s.%N``, ``uname -m``, cpuinfo,
``greengrass-cli component list`` and the DLR probe. Each turns any text into a verdict, never an exception:
a device that prints garbage is a device that fails its check, with what it printed in the detail.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from harness.compile.errors import TargetError
from harness.compile.targets import resolve_target
from harness.greengrass.cli_output import parse_components
from harness.greengrass.errors import CliOutputError
from harness.health.record import HealthVerdict
from harness.preflight.checks import suggest_target
from harness.preflight.facts import parse_facts
from harness.primitives.arch import UnknownArch, machine

MIB = 1 << 20
#: The first line of ``component list`` (aws-greengrass-cli, ComponentCommand.list).
COMPONENT_LIST_HEADER = "Components currently running in Greengrass:"
NUCLEUS = "aws.greengrass.Nucleus"
_EPOCH = re.compile(r"^\s*(?P<s>\d{1,12})(?:\.(?P<frac>\d{1,9}|N))?\s*$")
_SHOWN = 120


def shown(text: str, limit: int = _SHOWN) -> str:
    """``text`` on one line, cut to ``limit`` characters, quoted: what a device printed, for a detail."""
    flat = " | ".join(line.strip() for line in text.strip().splitlines() if line.strip())
    return repr(flat[:limit] + ("…" if len(flat) > limit else "")) if flat else "nothing"


# -- df ----------------------------------------------------------------------------------------
@dataclass(frozen=True)
class DiskFree:
    """One ``df -Pk`` row (POSIX format: size, used, available in 1024-byte blocks)."""

    filesystem: str
    total_kib: int
    used_kib: int
    available_kib: int
    mounted_on: str

    @property
    def available(self) -> int:
        return self.available_kib * 1024


def parse_df_row(line: str) -> DiskFree | None:
    """A data row of ``df -P``; None for the header or anything else. The mount point may hold spaces."""
    fields = line.split()
    if len(fields) < 6 or not all(f.isdigit() and len(f) < 20 for f in fields[1:4]):
        return None
    if not re.fullmatch(r"\d{1,3}%|-", fields[4]):
        return None
    return DiskFree(fields[0], int(fields[1]), int(fields[2]), int(fields[3]), " ".join(fields[5:]))


def disk_sections(text: str) -> dict[str, tuple[str, list[str]]]:
    """``@@<path> <measured dir>`` markers, each followed by that directory's df output."""
    out: dict[str, tuple[str, list[str]]] = {}
    current: list[str] | None = None
    for line in text.splitlines():
        if line.startswith("@@"):
            path, _, measured = line[2:].partition(" ")
            current = []
            out[path] = (measured.strip() or path, current)
        elif current is not None:
            current.append(line)
    return out


def evaluate_disk(text: str, minimum: Mapping[str, int]) -> HealthVerdict:
    """Free space of each path's filesystem (``minimum``: path → bytes) against its floor."""
    sections = disk_sections(text)
    seen, low, bad = [], [], []
    for path, floor in minimum.items():
        measured, lines = sections.get(path, (path, []))
        rows = [r for r in (parse_df_row(ln) for ln in lines) if r is not None]
        if not rows:
            bad.append(f"{path}: df printed {shown(chr(10).join(lines))}")
            continue
        free = rows[-1].available
        where = path if measured == path else f"{path} (absent; measured {measured})"
        seen.append(f"{where} {free / MIB:.0f} MiB free")
        if free < floor:
            low.append(f"{where} has {free / MIB:.0f} MiB free, below {floor / MIB:.0f} MiB")
    if bad:
        return HealthVerdict("disk", False, "free space unreadable: " + "; ".join(bad),
                             "check that `df -Pk PATH` works on the device")
    if low:
        return HealthVerdict("disk", False, "; ".join(low),
                             "free space on the device (old deployments under the Greengrass root's packages/, "
                             "staged artifacts under /var/tmp/hil-greengrass, /tmp), or lower the threshold")
    return HealthVerdict("disk", True, ", ".join(seen))


# -- clock -------------------------------------------------------------------------------------
def parse_epoch(text: str) -> tuple[float, float] | None:
    """``date +%s.%N`` → (seconds, resolution). A date without %N (BusyBox prints ``N``) has 1 s resolution."""
    m = _EPOCH.fullmatch(text)
    if not m:
        return None
    frac = m.group("frac")
    if frac is None or frac == "N":
        return float(m.group("s")), 1.0
    return float(f"{m.group('s')}.{frac}"), 10.0 ** -len(frac)


def evaluate_clock(text: str, before: float, after: float, max_skew: float) -> HealthVerdict:
    """The device's clock read between two controller readings ``before`` and ``after`` (epoch seconds).

    The controller's midpoint is compared with the device's reading; the error of that estimate is half the
    round trip plus the device clock's resolution, and the check passes only when skew plus error stays
    under ``max_skew``: a pass is a guarantee, not a guess.
    """
    parsed = parse_epoch(text)
    if parsed is None:
        return HealthVerdict("clock", False, f"`date +%s.%N` printed {shown(text)}, not a time",
                             "check the device's date(1)")
    device, resolution = parsed
    round_trip = max(0.0, after - before)
    skew = device + resolution / 2 - (before + after) / 2
    error = round_trip / 2 + resolution / 2
    side = "ahead of" if skew >= 0 else "behind"
    seen = f"device clock {abs(skew):.3f} s {side} the controller (± {error:.3f} s, round trip {round_trip:.3f} s)"
    if abs(skew) + error < max_skew:
        return HealthVerdict("clock", True, seen)
    if error >= max_skew:
        return HealthVerdict("clock", False, f"{seen}: the round trip is too slow to bound the skew under "
                             f"{max_skew:g} s", "check the link to the device (a loaded board or a slow network)")
    return HealthVerdict("clock", False, f"{seen}, over the {max_skew:g} s allowed",
                         "synchronise the device's clock (chrony, systemd-timesyncd or ntpd): certificate "
                         "validity, Greengrass deployments and log timestamps depend on it")


# -- arch and CPU ------------------------------------------------------------------------------
def evaluate_arch(text: str, expected: str) -> HealthVerdict:
    """``uname -m`` against the profile's arch, any spelling of the same machine accepted."""
    reported = text.strip()
    try:
        have = machine(reported) if reported and len(reported) < 32 and reported.isprintable() else None
    except UnknownArch:
        have = None
    if have is None:
        return HealthVerdict("arch", False, f"`uname -m` printed {shown(text)}, not a known machine",
                             "check that the device answers `uname -m`")
    if have != expected:
        return HealthVerdict("arch", False, f"the device is {reported}, its profile says {expected}",
                             f"give this device a {have} profile in the lab file")
    return HealthVerdict("arch", True, f"{reported}, as its profile says")


def evaluate_cpu(text: str, arch: str, neo_target: str) -> HealthVerdict:
    """The cpuinfo ``flags``/``Features`` line against what code compiled for ``neo_target`` may use.

    ``text`` is in the preflight probe's format: ``@@arch`` then ``uname -m``, ``@@cpu`` then the cpuinfo line;
    flags of another architecture are not compared (the arch check reports that device).
    """
    try:
        target = resolve_target(neo_target, check_cpu=False)
    except TargetError as exc:
        return HealthVerdict("cpu", False, f"the profile's Neo target {neo_target!r} is unknown: {exc}",
                             "fix neo_target in the device's profile")
    if target.arch != arch:
        return HealthVerdict("cpu", False, f"the profile's Neo target {neo_target} builds {target.arch} code, "
                             f"the profile says {arch}", "fix the profile's arch or neo_target")
    facts = parse_facts(text)
    try:
        have = machine(facts.arch) if facts.arch else None
    except UnknownArch:
        have = None
    if have != arch:
        return HealthVerdict("cpu", False, f"not compared: the device is {facts.arch or 'of unknown arch'}, "
                             f"{neo_target} code is {arch}", "see the arch check")
    if not facts.cpu_flags:
        return HealthVerdict("cpu", False, f"/proc/cpuinfo gave no flags/Features line: {shown(text)}",
                             "check that the device has a readable /proc/cpuinfo")
    missing = [f for f in target.cpu_features if f not in facts.cpu_flags]
    if missing:
        return HealthVerdict("cpu", False, f"compiled {neo_target} code would die with Illegal instruction on this "
                             f"CPU (it lacks {', '.join(missing)})",
                             f"give the device a profile for its CPU (compile with {suggest_target(facts)})")
    need = ", ".join(target.cpu_features) or "no extra features"
    return HealthVerdict("cpu", True, f"has what {neo_target} code uses ({need})")


# -- Greengrass --------------------------------------------------------------------------------
def evaluate_greengrass(exit_status: int, stdout: str, stderr: str, cli: Sequence[str]) -> HealthVerdict:
    """``<cli> component list``: the CLI answers only through the nucleus's IPC, so an answer proves both.

    ``cli`` is the invocation (e.g. ``sudo -n /greengrass/v2/bin/greengrass-cli``); its last word is the CLI.
    """
    text = (stderr + "\n" + stdout).strip()
    executable, cli = (cli[-1] if cli else ""), " ".join(cli)
    deploy_cli = "deploy aws.greengrass.Cli on the core (the Greengrass CLI component)"
    missing = any(executable in line and re.search(r"not found|No such file|Permission denied", line)
                  for line in stderr.splitlines())
    if exit_status in (126, 127) or missing:
        return HealthVerdict("greengrass", False, f"the Greengrass CLI cannot be run: `{cli}` → exit {exit_status}: "
                             f"{shown(text)}", f"{deploy_cli}, or set greengrass_root/greengrass_cli for the "
                             "device in the lab file")
    if stderr.lstrip().startswith("sudo:"):
        return HealthVerdict("greengrass", False, f"sudo refused `{cli}`: {shown(stderr)}",
                             "let the device user run the CLI without a password (sudoers NOPASSWD for "
                             "<root>/bin/greengrass-cli), or set greengrass_cli for the device")
    if exit_status != 0:
        return HealthVerdict("greengrass", False, f"the nucleus is not running or the CLI cannot reach it: `{cli} "
                             f"component list` → exit {exit_status}: {shown(text)}",
                             "start the Greengrass nucleus (e.g. `sudo systemctl start greengrass`) and read "
                             "<root>/logs/greengrass.log")
    if COMPONENT_LIST_HEADER not in stdout:
        return HealthVerdict("greengrass", False, f"`{cli} component list` exited 0 without a component list: "
                             f"{shown(text)}", f"check that `{cli}` is the Greengrass CLI")
    try:
        components = parse_components(stdout)
    except CliOutputError as exc:
        return HealthVerdict("greengrass", False, f"the component list does not parse: {exc.detail}",
                             f"check that `{cli}` is the Greengrass CLI")
    nucleus = next((c for c in components if c.name == NUCLEUS), None)
    broken = [f"{c.name} {c.state}" for c in components if c.state in ("BROKEN", "ERRORED")]
    seen = f"the CLI answers: {len(components)} components" + (
        f", nucleus {nucleus.version} {nucleus.state}" if nucleus else "")
    return HealthVerdict("greengrass", True, seen + (f" ({', '.join(broken)})" if broken else ""))


# -- DLR ---------------------------------------------------------------------------------------
def evaluate_dlr(text: str, python: str, dlr_abi: str) -> HealthVerdict:
    """The runtime probe's JSON (harness/ondevice/dlr_probe.py): the wrapper, libdlr and GetDLRVersion()."""
    runtime = parse_facts("@@runtime\n" + text).runtime
    if runtime.error or not runtime.version:
        return HealthVerdict("dlr", False, f"DLR is not usable from {python}: {runtime.error or 'no version'}",
                             "install the dlr wheel and a libdlr.so for this device into that interpreter, or "
                             "name the interpreter with the device's `python` feature")
    abi = runtime.abi
    if abi is not None and abi != dlr_abi:
        return HealthVerdict("dlr", False, f"DLR {runtime.version} runs {abi} models, the profile expects {dlr_abi}",
                             "install the DLR the profile names, or fix runtime.dlr_abi in the profile")
    return HealthVerdict("dlr", True, f"DLR {runtime.version} (wrapper {runtime.wrapper}) at {runtime.libdlr}")
